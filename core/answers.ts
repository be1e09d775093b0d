import { InputError } from './errors.js';
import { INPUTS, type AnswerKey, type Answers, type InputDeclaration } from './inputs.js';

export type Origin = 'option' | 'stored' | 'answer';

export interface AnswerSources {
  /** Values from the command line, keyed by answer key; `undefined` when not given. */
  readonly options: Readonly<Partial<Record<AnswerKey, unknown>>>;
  /** Values from `.yo-rc.json`. */
  readonly stored: Readonly<Partial<Record<string, unknown>>>;
  /** The answers are an existing project's: an input it does not record takes its `unrecorded`. */
  readonly existing?: boolean;
}

export interface GivenAnswers {
  readonly given: Partial<Answers>;
  /** Inputs neither given nor stored: asked, or defaulted under `--defaults`. */
  readonly missing: readonly InputDeclaration[];
}

function describeOrigin(input: InputDeclaration, origin: Origin): string {
  if (origin === 'option') return `--${input.option}`;
  if (origin === 'answer') return `the answer to "${input.message}" (option --${input.option})`;
  return `.yo-rc.json "${input.key}" (option --${input.option})`;
}

/** Checks one value against its input's rule; throws an InputError naming option, value and rule. */
export function checkValue(input: InputDeclaration, value: unknown, origin: Origin): string {
  if (typeof value !== 'string') {
    throw new InputError(
      `${describeOrigin(input, origin)}: ${JSON.stringify(value)} is not valid: must be a string`,
    );
  }
  const verdict = input.validate(value);
  if (verdict !== true) {
    throw new InputError(
      `${describeOrigin(input, origin)}: ${JSON.stringify(value)} is not valid: ${verdict}`,
    );
  }
  return value;
}

/**
 * The layered lookup, in one place: a CLI option wins over the stored answer; what neither gives
 * is reported as missing (to be asked, or defaulted). Every value is validated, whatever its source.
 */
export function resolveGivenAnswers(sources: AnswerSources): GivenAnswers {
  const given: Partial<Record<AnswerKey, string>> = {};
  const missing: InputDeclaration[] = [];
  for (const input of INPUTS) {
    const fromOption = sources.options[input.key];
    const fromStore = sources.stored[input.key];
    if (fromOption !== undefined) {
      given[input.key] = checkValue(input, fromOption, 'option');
    } else if (fromStore !== undefined) {
      given[input.key] = checkValue(input, fromStore, 'stored');
    } else if (sources.existing === true && 'unrecorded' in input) {
      given[input.key] = input.unrecorded;
    } else {
      missing.push(input);
    }
  }
  // Every value was checked by its input's validator above, which admits only the declared type.
  return { given: given as Partial<Answers>, missing };
}

/** Fills the inputs still missing with their defaults. */
export function withDefaults(given: Partial<Answers>): Answers {
  const answers: Partial<Record<AnswerKey, string>> = { ...given };
  for (const input of INPUTS) answers[input.key] ??= input.default;
  return answers as Answers;
}

export function missingInputsMessage(missing: readonly InputDeclaration[]): string {
  const names = missing.map((input) => `--${input.option}`).join(', ');
  return (
    `no terminal to ask on, and these inputs were not given: ${names}. ` +
    'Pass them as options, or pass --defaults to take the default of each.'
  );
}
