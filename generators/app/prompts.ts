import type Generator from 'yeoman-generator';
import type { PromptQuestion } from 'yeoman-generator';
import { INPUTS, type AnswerKey, type Answers } from './inputs.js';

interface MaybeTerminal {
  actualAdapter?: MaybeTerminal;
  stdin?: { isTTY?: boolean };
}

/**
 * Whether prompts can be answered. Yeoman's terminal adapter (wrapped in a queued adapter) reads
 * from a stdin that must be a terminal; adapters without a stdin (yeoman-test's) answer
 * prompts themselves.
 */
export function canPrompt(adapter: unknown): boolean {
  let current = adapter as MaybeTerminal | undefined;
  while (current?.actualAdapter) current = current.actualAdapter;
  if (!current?.stdin) return true;
  return current.stdin.isTTY === true;
}

/** Asks only for the inputs in `keys`, each with its own validator, default and choices. */
export async function askForMissing(
  generator: Generator,
  keys: readonly AnswerKey[],
): Promise<Partial<Answers>> {
  const questions = INPUTS.filter((input) => keys.includes(input.key)).map(
    (input): PromptQuestion<Partial<Answers>> =>
      input.choices
        ? {
            type: 'select',
            name: input.key,
            message: input.message,
            choices: [...input.choices],
            default: input.default,
          }
        : {
            type: 'input',
            name: input.key,
            message: input.message,
            default: input.default,
            validate: (value: string) => input.validate(value.trim()),
            filter: (value: string) => value.trim(),
          },
  );
  if (questions.length === 0) return {};
  return generator.prompt<Partial<Answers>>(questions);
}
