import path from 'node:path';
import { EXIT, InputError, type ExitCode } from './errors.js';

const DENIED: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
};

/**
 * A file the user may not read or write is theirs to fix, not a bug: the message names the path
 * and what to do instead of Node's syscall text.
 */
function deniedMessage(error: NodeJS.ErrnoException): string | undefined {
  const reason = error.code === undefined ? undefined : DENIED[error.code];
  if (reason === undefined || typeof error.path !== 'string') return undefined;
  // The staging folder is the generator's own; the folder the user chose is the one around it.
  const target = path.basename(error.path).startsWith('.scdf-task-update-')
    ? path.dirname(error.path)
    : error.path;
  return (
    `${target}: ${reason} (${error.code ?? ''}); run the generator where you may write, or ` +
    'change the owner or permissions of that path'
  );
}

/** The one-line message for a failed run, and whether it is one the user can fix. */
export function describeFailure(error: unknown): { message: string; fixable: boolean } {
  const err = error instanceof Error ? error : new Error(String(error));
  if (err instanceof InputError || err.name === 'InputError')
    return { message: err.message, fixable: true };
  const denied = deniedMessage(err);
  if (denied !== undefined) return { message: denied, fixable: true };
  return { message: `unexpected error: ${err.message}`, fixable: false };
}

/** Ctrl-C at a prompt (@inquirer's errors, under whichever front end asked). */
export function isInterrupt(error: Error): boolean {
  return error.name === 'ExitPromptError' || error.name === 'AbortPromptError';
}

/**
 * Prints why a run failed, on stderr, and returns its exit code. Problems the user can fix are
 * their message alone; anything else is a bug, whose stack trace `--debug` shows.
 */
export function reportFailure(prefix: string, error: unknown, debug: boolean): ExitCode {
  const err = error instanceof Error ? error : new Error(String(error));
  if (isInterrupt(err)) return EXIT.interrupted;
  const { message, fixable } = describeFailure(err);
  if (debug) process.stderr.write(`${prefix}: ${err.stack ?? err.message}\n`);
  else if (fixable) process.stderr.write(`${prefix}: ${message}\n`);
  else process.stderr.write(`${prefix}: ${message} (run again with --debug for the stack trace)\n`);
  return EXIT.error;
}
