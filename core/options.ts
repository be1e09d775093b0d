import { InputError } from './errors.js';
import { editDistance } from './edit-distance.js';
import { INPUTS, RUN_FLAGS } from './inputs.js';

/**
 * The options a user can type, whichever front end reads them, and the messages for options
 * that are mistyped: both front ends report an unknown option, or an option missing its value,
 * in the same words, before anything is read or written.
 */
export interface OptionName {
  /** Without dashes: `database`, or `h` for a short option. */
  readonly name: string;
  readonly short?: boolean;
}

/** Every option of the command line, as both front ends accept it. */
export function knownOptions(): readonly string[] {
  return [...INPUTS.map((input) => input.option), ...RUN_FLAGS.map((flag) => flag.option), 'help'];
}

export function camelCase(kebab: string): string {
  return kebab.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** `dockerPrefix` → `docker-prefix`; a leading capital stays, so `--Database` is not taken. */
export function kebabCase(camel: string): string {
  return camel.replace(/(?<=.)[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** The known option most like `name`: the same in other case, one it begins, else the fewest edits away. */
export function closestOption(name: string, known: readonly string[]): string | undefined {
  const otherCase = known.find((option) => option.toLowerCase() === name.toLowerCase());
  if (otherCase !== undefined) return otherCase;
  const started = known.find((option) => option.startsWith(name) && name.length >= 2);
  if (started !== undefined) return started;
  let best: string | undefined;
  let bestDistance = Infinity;
  let bestPrefix = 0;
  for (const option of known) {
    const d = editDistance(name, option);
    // Of two options as many edits away, the one sharing the longer start (--foo: --force, not --ci).
    const prefix = commonPrefix(name, option);
    if (d < bestDistance || (d === bestDistance && prefix > bestPrefix))
      [best, bestDistance, bestPrefix] = [option, d, prefix];
  }
  return best;
}

function commonPrefix(a: string, b: string): number {
  let length = 0;
  while (length < a.length && a[length] === b[length]) length += 1;
  return length;
}

function dashed(option: OptionName): string {
  return option.short ? `-${option.name}` : `--${option.name}`;
}

export interface OptionRules {
  /** Options of this front end alone (the bin's `version`). */
  readonly also?: readonly string[];
  /** Accepted without a word but never suggested (Yeoman's own options, which mean nothing here). */
  readonly hidden?: readonly string[];
  /** The front end's one-letter options (the bin's `h` and `v`). */
  readonly short?: readonly string[];
}

/** Refuses unknown options, naming for each the closest known one. */
export function checkOptionNames(
  given: readonly OptionName[],
  /** The command whose --help lists the options. */
  program: string,
  rules: OptionRules = {},
): void {
  const known = [...knownOptions(), ...(rules.also ?? [])];
  const short = rules.short ?? [];
  const accepted = new Set([...known, ...(rules.hidden ?? [])]);
  const parts = new Set<string>();
  for (const option of given) {
    if (option.short ? short.includes(option.name) : accepted.has(option.name)) continue;
    const closest = closestOption(option.name, option.short ? short : known);
    const suggestion =
      closest === undefined
        ? ''
        : ` (closest known option: ${dashed({ name: closest, short: option.short === true })})`;
    parts.add(`${dashed(option)}${suggestion}`);
  }
  if (parts.size === 0) return;
  throw new InputError(
    `unknown option${parts.size > 1 ? 's' : ''} ${[...parts].join(', ')}; nothing was written. ` +
      `See ${program} --help for every option.`,
  );
}

/** An input option given without a value: the message says what the value may be. */
export function missingValueError(option: string): InputError {
  const input = INPUTS.find((candidate) => candidate.option === option);
  const what = input?.choices
    ? `one of ${input.choices.join(', ')}`
    : `such as ${JSON.stringify(input?.default ?? 'value')}`;
  return new InputError(
    `--${option} needs a value (${what}): give it as --${option}=<value> or --${option} <value>`,
  );
}

/** A flag given a value (`--check=yes`): flags take none. */
export function flagValueError(option: string): InputError {
  return new InputError(`--${option} takes no value: give it as --${option} alone`);
}
