#!/usr/bin/env node
/**
 * `create-scdf-task` (what `npm init scdf-task` runs): the command-line front end of the core.
 * It loads neither yeoman-environment nor yeoman-generator, and the prompt library only when a
 * question must be asked, so a run costs little more than starting Node. With `--check` or
 * `--update` it takes many project folders and works through them in one process.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, InputError, worstExitCode, type ExitCode } from '../core/errors.js';
import { reportFailure } from '../core/failure.js';
import { INPUTS, RUN_FLAGS, type AnswerKey, type Answers, type RunFlag } from '../core/inputs.js';
import { GENERATOR_VERSION } from '../core/project-files.js';
import type { Asker } from '../core/questions.js';
import { runProject, type RunRequest } from '../core/run.js';

const NAME = 'create-scdf-task';

const FLEET_FLAGS: readonly RunFlag[] = [
  {
    option: 'update',
    description: 'Update the projects in the folders given as arguments (default: this one)',
  },
  {
    option: 'stdin',
    description:
      'With --check or --update: also read project folders, one per line, from stdin (or give "-")',
  },
];

type Options = NonNullable<ParseArgsConfig['options']>;

function cliOptions(): Options {
  const options: Options = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const input of INPUTS) options[input.option] = { type: 'string' };
  for (const flag of [...RUN_FLAGS, ...FLEET_FLAGS]) options[flag.option] = { type: 'boolean' };
  return options;
}

export function helpText(): string {
  const rows: [string, string][] = INPUTS.map((input) => [
    `--${input.option} <value>`,
    `${input.description}${input.choices ? ` (${input.choices.join(', ')})` : ''}; default: ${input.default}`,
  ]);
  for (const flag of [...RUN_FLAGS, ...FLEET_FLAGS])
    rows.push([`--${flag.option}`, flag.description]);
  rows.push(['-h, --help', 'Show this help'], ['-v, --version', 'Show the version']);
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    `Usage: ${NAME} [task-name] [options]`,
    `       ${NAME} --check|--update [project-folder...] [--stdin]`,
    '',
    'Generates a Python task for Spring Cloud Data Flow in ./<task-name>/, or updates the',
    'generated project around the current folder from its .yo-rc.json (three-way: your edits',
    'are kept, template changes merged in, conflicts marked).',
    '',
    'Options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    '',
    'Exit codes: 0 done or up to date; 1 --check: an update would change files; 2 bad input or',
    'the run could not proceed (nothing written); 3 conflicts (left marked, or --check: would',
    'conflict); 130 interrupted. Over many projects: the most serious of them.',
  ].join('\n');
}

/** Prompts on the terminal; @inquirer/prompts is imported only when there is a question. */
const terminalAsker: Asker = {
  canAsk: process.stdin.isTTY,
  async ask(questions) {
    const { input, select } = await import('@inquirer/prompts');
    const answers: Partial<Record<AnswerKey, string>> = {};
    for (const question of questions) {
      answers[question.name] = question.choices
        ? await select({
            message: question.message,
            choices: question.choices.map((value) => ({ value })),
            default: question.default,
          })
        : (
            await input({
              message: question.message,
              default: question.default,
              validate: question.validate,
            })
          ).trim();
    }
    return answers as Partial<Answers>;
  },
};

function readFolderList(): string[] {
  return readFileSync(0, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

async function runMany(
  base: RunRequest,
  folders: readonly string[],
  debug: boolean,
): Promise<ExitCode> {
  const codes: ExitCode[] = [];
  for (const folder of folders) {
    try {
      const outcome = await runProject(
        { ...base, project: folder },
        { ...terminalAsker, canAsk: false },
      );
      process.stdout.write(`${outcome.line}\n`);
      codes.push(outcome.exitCode);
    } catch (error) {
      if (debug) reportFailure(NAME, error, true);
      const message =
        error instanceof InputError ? error.message : `unexpected error: ${String(error)}`;
      process.stdout.write(`${folder}: error: ${message}\n`);
      codes.push(EXIT.error);
    }
  }
  const count = (code: ExitCode) => codes.filter((c) => c === code).length;
  const worst = worstExitCode(codes);
  process.stdout.write(
    `${folders.length} projects: ${count(EXIT.ok)} ${base.check ? 'up to date' : 'done'}, ` +
      (base.check ? `${count(EXIT.drift)} would change, ` : '') +
      `${count(EXIT.conflict)} with conflicts, ${count(EXIT.error)} failed; exit ${worst}\n`,
  );
  return worst;
}

async function main(argv: string[]): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: cliOptions(), allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${NAME}: ${(error as Error).message}\nTry --help.\n`);
    return EXIT.error;
  }
  const { values, positionals } = parsed;
  const flag = (name: string) => values[name] === true;
  if (flag('help')) {
    process.stdout.write(`${helpText()}\n`);
    return EXIT.ok;
  }
  if (flag('version')) {
    process.stdout.write(`${GENERATOR_VERSION}\n`);
    return EXIT.ok;
  }
  const options: Partial<Record<AnswerKey, unknown>> = {};
  for (const input of INPUTS)
    if (values[input.option] !== undefined) options[input.key] = values[input.option];
  const request: RunRequest = {
    cwd: process.cwd(),
    options,
    defaults: flag('defaults'),
    check: flag('check'),
    update: flag('update'),
    force: flag('force'),
  };
  const debug = flag('debug');
  try {
    if (flag('check') || flag('update')) {
      const fromStdin = flag('stdin') || positionals.includes('-');
      const folders = [
        ...positionals.filter((p) => p !== '-'),
        ...(fromStdin ? readFolderList() : []),
      ];
      if (folders.length > 1 || fromStdin) {
        if (options.taskName !== undefined)
          throw new InputError('--task-name cannot be given for many projects at once');
        return await runMany(request, folders, debug);
      }
      const [folder] = folders;
      const outcome = await runProject(
        folder === undefined ? request : { ...request, project: folder },
        terminalAsker,
      );
      process.stdout.write(`${outcome.report}\n`);
      return outcome.exitCode;
    }
    if (flag('stdin'))
      throw new InputError('--stdin reads project folders for --check or --update');
    if (positionals.length > 1)
      throw new InputError(`expected at most one task name, got: ${positionals.join(' ')}`);
    const [name] = positionals;
    const outcome = await runProject(
      name === undefined ? request : { ...request, positionalName: name },
      terminalAsker,
    );
    process.stdout.write(`${outcome.report}\n`);
    return outcome.exitCode;
  } catch (error) {
    return reportFailure(NAME, error, debug);
  }
}

process.exitCode = await main(process.argv.slice(2));
