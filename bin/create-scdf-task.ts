#!/usr/bin/env node
/**
 * `create-scdf-task` (what `npm init scdf-task` runs): drives yeoman-environment with the
 * generator's resolved path, so it needs no global `yo`, skips the slow generator lookup and runs
 * as root (where `yo` drops privileges but keeps HOME and fails on its global config).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createEnv } from 'yeoman-environment';
import { InputError } from '../generators/app/answers.js';
import { INPUTS, RUN_FLAGS } from '../generators/app/inputs.js';
import { GENERATOR_VERSION } from '../generators/app/project-files.js';

const NAME = 'create-scdf-task';
const GENERATOR_PATH = fileURLToPath(new URL('../generators/app/index.js', import.meta.url));
const NAMESPACE = 'scdf-task:app';

/** Exit codes: 1 is reserved for `--check` finding drift, so CI can tell it from a failure. */
const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

function cliOptions(): Options {
  const options: Options = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const input of INPUTS) options[input.option] = { type: 'string' };
  for (const flag of RUN_FLAGS) options[flag.option] = { type: 'boolean' };
  return options;
}

export function helpText(): string {
  const rows: [string, string][] = INPUTS.map((input) => [
    `--${input.option} <value>`,
    `${input.description}${input.choices ? ` (${input.choices.join(', ')})` : ''}; default: ${input.default}`,
  ]);
  for (const flag of RUN_FLAGS) rows.push([`--${flag.option}`, flag.description]);
  rows.push(['-h, --help', 'Show this help'], ['-v, --version', 'Show the version']);
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    `Usage: ${NAME} [task-name] [options]`,
    '',
    'Generates a Python task for Spring Cloud Data Flow in ./<task-name>/, or updates the',
    'generated project in the current folder from its .yo-rc.json.',
    '',
    'Options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    '',
    'Exit codes: 0 done; 1 --check found drift; 2 bad input or the run could not proceed.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: cliOptions(), allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${NAME}: ${(error as Error).message}\nTry --help.\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${GENERATOR_VERSION}\n`);
    return 0;
  }
  if (positionals.length > 1) {
    process.stderr.write(
      `${NAME}: expected at most one task name, got: ${positionals.join(' ')}\n`,
    );
    return EXIT_USAGE;
  }
  const options: Record<string, string | boolean> = { skipInstall: true };
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && typeof value !== 'object') options[key] = value;
  }
  const env = createEnv({ cwd: process.cwd(), skipInstall: true });
  env.register(GENERATOR_PATH, { namespace: NAMESPACE });
  try {
    await env.run([NAMESPACE, ...positionals], options);
  } catch (error) {
    const err = error as Error;
    if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') return 130;
    // Input errors are for people; anything else is a bug worth its stack.
    process.stderr.write(
      err instanceof InputError || err.name === 'InputError'
        ? `${NAME}: ${err.message}\n`
        : `${NAME}: ${err.stack ?? err.message}\n`,
    );
    return EXIT_USAGE;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

process.exitCode = await main(process.argv.slice(2));
