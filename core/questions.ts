import { INPUTS, type AnswerKey, type Answers } from './inputs.js';
import type { ValidationResult } from './validators.js';

/**
 * A question in no library's shape: the Yeoman front end hands it to `this.prompt()`, the bin to
 * `@inquirer/prompts`. Free text is validated with the input's own rule after normalizing.
 */
export interface Question {
  readonly name: AnswerKey;
  readonly message: string;
  readonly default: string;
  /** Present for a choice among fixed values; absent for free text. */
  readonly choices?: readonly string[];
  readonly validate: (value: string) => ValidationResult;
}

/**
 * The one rule for typed answers, applied by the prompt's validation and by the core to what was
 * asked: blanks around a value are not part of it. Values given as options are taken as typed.
 */
export function normalizeAnswer(value: string): string {
  return value.trim();
}

export function questionsFor(keys: readonly AnswerKey[]): Question[] {
  return INPUTS.filter((input) => keys.includes(input.key)).map((input) => ({
    name: input.key,
    message: input.message,
    default: input.default,
    ...(input.choices ? { choices: input.choices } : {}),
    validate: (value: string) => input.validate(normalizeAnswer(value)),
  }));
}

/**
 * The theme of every free-text prompt, in either front end (both ask with @inquirer/input): a
 * refused answer is cleared with the rule shown, so the next one is not typed after it.
 */
export const CLEAR_REFUSED_ANSWER = { validationFailureMode: 'clear' } as const;

/** How a front end asks: `canAsk` false means there is no terminal to ask on. */
export interface Asker {
  readonly canAsk: boolean;
  ask(questions: readonly Question[]): Promise<Partial<Answers>>;
}
