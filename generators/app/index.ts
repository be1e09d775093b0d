import Generator from 'yeoman-generator';
import { InputError } from '../../core/errors.js';
import { INPUTS, RUN_FLAGS, type AnswerKey } from '../../core/inputs.js';
import { runProject } from '../../core/run.js';
import { reportFailure } from '../../core/failure.js';
import { yeomanAsker } from './prompts.js';

function camelCase(kebab: string): string {
  return kebab.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * The Yeoman front end, for `yo scdf-task` and yeoman-test: it declares the options, then hands
 * the whole run to the core. The core writes the files itself (staged, all or nothing), so
 * Yeoman's in-memory file system and conflicter are never involved and print nothing.
 */
export default class ScdfTaskGenerator extends Generator {
  constructor(args: string[], options: Generator['options']) {
    // The project is Python: there is never an npm install for Yeoman to run or announce.
    super(args, options, { customInstallTask: true });
    this.description =
      'Generate a Python task for Spring Cloud Data Flow that keeps its TASK_EXECUTION row right.';
    for (const input of INPUTS) {
      if (input.positional) {
        this.argument(camelCase(input.option), {
          type: String,
          required: false,
          description: `${input.description} (same as --${input.option})`,
        });
      }
      const choices = input.choices ? `; one of ${input.choices.join(', ')}` : '';
      this.option(input.option, {
        type: String,
        description: `${input.description}${choices} (default: ${input.default})`,
      });
    }
    for (const flag of RUN_FLAGS) {
      if (!(flag.option in (this._options as Record<string, unknown>))) {
        this.option(flag.option, { type: Boolean, description: flag.description });
      }
    }
  }

  // Helpers are #private: Yeoman runs every public prototype method as a lifecycle task.
  #optionValue(name: string): unknown {
    const options = this.options as Record<string, unknown>;
    return options[name] ?? options[camelCase(name)];
  }

  #flag(name: string): boolean {
    return this.#optionValue(name) === true;
  }

  /** Yeoman ignores options it does not know; a typo must not silently fall back to a default. */
  #unknownOptions(): string[] {
    const declared = this._options as Record<string, unknown>;
    return this._args
      .filter((arg) => arg.startsWith('--'))
      .map((arg) => (arg.slice(2).split('=')[0] ?? '').replace(/^no-/, ''))
      .filter((name) => !(name in declared) && !(camelCase(name) in declared))
      .map((name) => `'--${name}'`);
  }

  async writing(): Promise<void> {
    const options: Partial<Record<AnswerKey, unknown>> = {};
    for (const input of INPUTS) {
      if (input.positional) continue;
      const value = this.#optionValue(input.option);
      if (value !== undefined) options[input.key] = value;
    }
    // The positional argument and a camelCased `--task-name` (as `yo` passes options) share one
    // key in this.options; this.args holds only the positional one.
    const positional = this.args[0];
    const taskName = this.#optionValue('task-name');
    if (taskName !== undefined && taskName !== positional) options.taskName = taskName;
    try {
      const unknown = this.#unknownOptions();
      if (unknown.length > 0)
        throw new InputError(`unknown option ${unknown.join(', ')}; see yo scdf-task --help`);
      const outcome = await runProject(
        {
          cwd: this.env.cwd,
          options,
          ...(positional === undefined ? {} : { positionalName: positional }),
          defaults: this.#flag('defaults'),
          check: this.#flag('check'),
          force: this.#flag('force'),
        },
        yeomanAsker(this),
      );
      process.stdout.write(`${outcome.report}\n`);
      process.exitCode = outcome.exitCode;
    } catch (error) {
      process.exitCode = reportFailure('generator-scdf-task', error, this.#flag('debug'));
    }
  }
}
