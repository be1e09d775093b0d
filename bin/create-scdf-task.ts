#!/usr/bin/env node
/**
 * `create-scdf-task` (what `npm init scdf-task` runs): the command-line front end of the core.
 * It only translates its argv into the core's command; it loads neither yeoman-environment nor
 * yeoman-generator, and the prompt library only when a question must be asked, so a run costs
 * little more than starting Node.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runCommand, type Command } from '../core/command.js';
import { EXIT, type ExitCode } from '../core/errors.js';
import { reportFailure } from '../core/failure.js';
import { INPUTS, RUN_FLAGS, type AnswerKey, type Answers } from '../core/inputs.js';
import {
  checkOptionNames,
  flagValueError,
  missingValueError,
  type OptionName,
} from '../core/options.js';
import { GENERATOR_VERSION } from '../core/project-files.js';
import { CLEAR_REFUSED_ANSWER, type Asker } from '../core/questions.js';

const NAME = 'create-scdf-task';

type Options = NonNullable<ParseArgsConfig['options']>;

function cliOptions(): Options {
  const options: Options = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const input of INPUTS) options[input.option] = { type: 'string' };
  for (const flag of RUN_FLAGS)
    options[flag.option] = { type: flag.value === undefined ? 'boolean' : 'string' };
  return options;
}

export function helpText(): string {
  const rows: [string, string][] = INPUTS.map((input) => [
    `--${input.option} <value>`,
    `${input.description}${input.choices ? ` (${input.choices.join(', ')})` : ''}; default: ${input.default}`,
  ]);
  for (const flag of RUN_FLAGS)
    rows.push([
      `--${flag.option}${flag.value === undefined ? '' : ` <${flag.value}>`}`,
      flag.description,
    ]);
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
        : await input({
            message: question.message,
            default: question.default,
            validate: question.validate,
            theme: CLEAR_REFUSED_ANSWER,
          });
    }
    return answers as Partial<Answers>;
  },
};

/**
 * The command line in the core's terms. Node's own parser is run leniently, and what it would
 * reject is reported here in the core's words: an unknown option with the closest known one, an
 * input option without its value, a flag with one.
 */
function parseCommandLine(argv: string[]): { command: Command; help: boolean; version: boolean } {
  const config = cliOptions();
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    options: config,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const given: OptionName[] = tokens
    .filter((token) => token.kind === 'option')
    .map((token) =>
      token.rawName.startsWith('--')
        ? { name: token.name }
        : { name: token.rawName.slice(1), short: true },
    );
  checkOptionNames(given, NAME, { also: ['version'], short: ['h', 'v'] });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const type = config[token.name]?.type;
    // Without strict parsing, an input option followed by another option takes it as its value.
    if (
      type === 'string' &&
      (token.value === undefined || (!token.inlineValue && token.value.startsWith('--')))
    )
      throw missingValueError(token.name);
    if (type === 'boolean' && token.value !== undefined) throw flagValueError(token.name);
  }
  const flag = (name: string) => values[name] === true;
  const options: Partial<Record<AnswerKey, unknown>> = {};
  for (const input of INPUTS)
    if (values[input.option] !== undefined) options[input.key] = values[input.option];
  return {
    command: {
      cwd: process.cwd(),
      positionals,
      options,
      defaults: flag('defaults'),
      check: flag('check'),
      update: flag('update'),
      force: flag('force'),
      stdin: flag('stdin'),
      debug: flag('debug'),
      ...(typeof values.base === 'string' ? { base: values.base } : {}),
    },
    help: flag('help'),
    version: flag('version'),
  };
}

async function main(argv: string[]): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    return reportFailure(NAME, error, false);
  }
  if (parsed.help) {
    process.stdout.write(`${helpText()}\n`);
    return EXIT.ok;
  }
  if (parsed.version) {
    process.stdout.write(`${GENERATOR_VERSION}\n`);
    return EXIT.ok;
  }
  return runCommand(parsed.command, { program: NAME, asker: terminalAsker });
}

process.exitCode = await main(process.argv.slice(2));
