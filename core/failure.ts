import { EXIT, InputError, type ExitCode } from './errors.js';

/**
 * Prints why a run failed, on stderr, and returns its exit code. Problems the user can fix are
 * their message alone; anything else is a bug, whose stack trace `--debug` shows.
 */
export function reportFailure(prefix: string, error: unknown, debug: boolean): ExitCode {
  const err = error instanceof Error ? error : new Error(String(error));
  if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') return EXIT.interrupted;
  if (debug) process.stderr.write(`${prefix}: ${err.stack ?? err.message}\n`);
  else if (err instanceof InputError || err.name === 'InputError')
    process.stderr.write(`${prefix}: ${err.message}\n`);
  else
    process.stderr.write(
      `${prefix}: unexpected error: ${err.message} (run again with --debug for the stack trace)\n`,
    );
  return EXIT.error;
}
