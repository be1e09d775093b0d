import type Generator from 'yeoman-generator';
import type { PromptQuestion } from 'yeoman-generator';
import { EXIT } from '../../core/errors.js';
import { isInterrupt } from '../../core/failure.js';
import type { Answers } from '../../core/inputs.js';
import { CLEAR_REFUSED_ANSWER, type Asker, type Question } from '../../core/questions.js';

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
        theme: CLEAR_REFUSED_ANSWER,
      };
}

/**
 * Yeoman's terminal adapter aborts the whole run with a prompt's error, and `yo` then exits with
 * that error's `code`, else 1, after printing its message. Ctrl-C at a prompt must end as it does
 * in the bin, with 130; the abort listeners run before yo sees the error, so it is marked here.
 */
function exitWith130OnInterrupt(adapter: unknown): void {
  const signal = (adapter as { signal?: AbortSignal } | undefined)?.signal;
  signal?.addEventListener(
    'abort',
    () => {
      const reason: unknown = signal.reason;
      if (reason instanceof Error && isInterrupt(reason))
        Object.assign(reason, {
          code: EXIT.interrupted,
          message: 'interrupted at a prompt; nothing was written',
        });
    },
    { once: true },
  );
}

/** Asks through Yeoman's adapter, so `yo` and yeoman-test answer as they do for any generator. */
export function yeomanAsker(generator: Generator): Asker {
  return {
    canAsk: canPrompt(generator.env.adapter),
    ask: (questions) => {
      exitWith130OnInterrupt(generator.env.adapter);
      return generator.prompt<Partial<Answers>>(questions.map(toYeomanQuestion));
    },
  };
}
