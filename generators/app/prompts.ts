import type Generator from 'yeoman-generator';
import type { PromptQuestion } from 'yeoman-generator';
import type { Answers } from '../../core/inputs.js';
import type { Asker, Question } from '../../core/questions.js';

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

/** The core's questions in the shape Yeoman's `prompt()` takes. */
export function toYeomanQuestion(question: Question): PromptQuestion<Partial<Answers>> {
  return question.choices
    ? {
        type: 'select',
        name: question.name,
        message: question.message,
        choices: [...question.choices],
        default: question.default,
      }
    : {
        type: 'input',
        name: question.name,
        message: question.message,
        default: question.default,
        validate: question.validate,
      };
}

/** Asks through Yeoman's adapter, so `yo` and yeoman-test answer as they do for any generator. */
export function yeomanAsker(generator: Generator): Asker {
  return {
    canAsk: canPrompt(generator.env.adapter),
    ask: (questions) => generator.prompt<Partial<Answers>>(questions.map(toYeomanQuestion)),
  };
}
