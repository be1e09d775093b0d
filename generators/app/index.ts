import Generator from 'yeoman-generator';
import { runCommand } from '../../core/command.js';
import { InputError } from '../../core/errors.js';
import { reportFailure } from '../../core/failure.js';
import { INPUTS, RUN_FLAGS, type AnswerKey } from '../../core/inputs.js';
import { GENERATOR_VERSION } from '../../core/package-info.js';
import { camelCase, checkOptionNames, kebabCase, missingValueError } from '../../core/options.js';
import { yeomanAsker } from './prompts.js';

/** How errors are prefixed, as the messages of every Yeoman generator name their package. */
const PROGRAM = 'generator-scdf-task';

/** yeoman-generator's own options: they steer npm installs and prompt caching, which never run. */
const YEOMAN_OPTIONS = ['skip-cache', 'skip-install', 'force-install', 'ask-answered'];

/**
 * Keys in `this.options` that yo, yeoman-environment and yeoman-test put there themselves; every
 * other key is an option the user typed.
 */
const FRAMEWORK_KEYS = new Set([
  '_',
  '_meta',
  'env',
  'resolved',
  'namespace',
  'shared-data',
  'forward-error-to-environment',
  'skip-local-cache',
  'skip-parse-options',
  'local-config-only',
  // yo's own flags (`yo --local-only scdf-task`): yo acts on them before the generator runs.
  'local-only',
  'generators',
  'environment-version',
]);

/**
 * The Yeoman front end, for `yo scdf-task` and yeoman-test: it declares the options, translates
 * what Yeoman parsed into the core's command and hands the whole run to the core. The core writes
 * the files itself (staged, all or nothing), so Yeoman's in-memory file system and conflicter are
 * never involved and print nothing.
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
        this.option(flag.option, {
          type: flag.value === undefined ? Boolean : String,
          description: flag.description,
        });
      }
    }
    // As the bin has it: yo's own --version shows yo's version only when no generator is named.
    this.option('version', {
      type: Boolean,
      alias: 'v',
      description: "Print the generator's version",
    });
    // Accepted, since people pass them to every generator out of habit, but not offered in --help.
    const declared = this._options as Record<string, { hide?: boolean } | undefined>;
    for (const name of YEOMAN_OPTIONS) {
      const spec = declared[name];
      if (spec) spec.hide = true;
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

  /**
   * Yeoman takes any option, known or not, into `this.options` (yo camelCases them besides); a
   * typo must not fall back to a default silently.
   */
  #checkOptionNames(): void {
    const positional = this._arguments.map((argument) => argument.name);
    const keys = Object.keys(this.options);
    // yo adds each camelCase key again in its legacy spelling (`-v` beside `V` for `-V`): a key
    // that is another's legacy spelling is no option of its own.
    const legacy = (key: string) => key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
    const given = keys
      .filter((key) => !keys.some((other) => other !== key && legacy(other) === key))
      .filter((key) => !positional.includes(key))
      .map((key) => kebabCase(key))
      .filter((name) => !FRAMEWORK_KEYS.has(name))
      .map((name) => (name.length === 1 ? { name, short: true } : { name }));
    checkOptionNames(given, 'yo scdf-task', {
      also: ['version'],
      hidden: YEOMAN_OPTIONS,
      short: ['h', 'v'],
    });
    // What yo parsed, before Yeoman converted it to the declared types: yo reads the command
    // line without knowing them.
    const initial = (this as unknown as { _initOptions: Record<string, unknown> })._initOptions;
    // An input option without a value is `true` there, which Yeoman would turn into "true".
    for (const input of INPUTS)
      if (initial[input.option] === true || initial[camelCase(input.option)] === true)
        throw missingValueError(input.option);
    // The word after a flag is the flag's value there (`--check a b`: check="a"), which Yeoman
    // would turn into `true`, losing the word.
    for (const flag of RUN_FLAGS) {
      const value = initial[flag.option];
      if (flag.value !== undefined) {
        // yo leaves a valued option without its value `true`; yeoman-environment makes it ''.
        if (value === true || value === '' || this.#optionValue(flag.option) === '')
          throw missingValueError(flag.option);
        continue;
      }
      if (typeof value === 'string') {
        // The other words stay positional (`--check a b`: b): the hint keeps them all, in order.
        const words = [value, ...this.args.filter((arg) => !arg.startsWith('-'))];
        throw new InputError(
          `yo took ${JSON.stringify(value)} as the value of --${flag.option}, which takes none: ` +
            `put the task name or project folders before the options ` +
            `(yo scdf-task ${words.join(' ')} --${flag.option})`,
        );
      }
    }
  }

  async writing(): Promise<void> {
    const debug = this.#flag('debug');
    try {
      this.#checkOptionNames();
    } catch (error) {
      process.exitCode = reportFailure(PROGRAM, error, debug);
      return;
    }
    if (this.#flag('version')) {
      process.stdout.write(`${GENERATOR_VERSION}\n`);
      return;
    }
    const options: Partial<Record<AnswerKey, unknown>> = {};
    for (const input of INPUTS) {
      if (input.positional) continue;
      const value = this.#optionValue(input.option);
      if (value !== undefined) options[input.key] = value;
    }
    // The positional argument and a camelCased `--task-name` (as `yo` passes options) share one
    // key in this.options; this.args holds only the positional one.
    const positionals = this.args.filter((arg) => !arg.startsWith('--'));
    const taskName = this.#optionValue('task-name');
    if (taskName !== undefined && taskName !== positionals[0]) options.taskName = taskName;
    const base = this.#optionValue('base');
    process.exitCode = await runCommand(
      {
        cwd: this.env.cwd,
        positionals,
        options,
        defaults: this.#flag('defaults'),
        check: this.#flag('check'),
        update: this.#flag('update'),
        force: this.#flag('force'),
        stdin: this.#flag('stdin'),
        debug,
        ...(typeof base === 'string' ? { base } : {}),
      },
      { program: PROGRAM, asker: yeomanAsker(this) },
    );
  }
}
