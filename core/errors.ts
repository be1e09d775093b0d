/**
 * A run that cannot proceed for a reason the user can fix (a bad value, a refused path, a folder
 * in the way): printed as its message alone, without a stack trace, and nothing is written.
 */
export class InputError extends Error {
  override name = 'InputError';
}

/** Exit codes shared by every front end, so CI can tell the outcomes apart. */
export const EXIT = {
  /** Done; with `--check`: nothing to update. */
  ok: 0,
  /** `--check`: an update would change files (none would conflict). */
  drift: 1,
  /** Bad input, a refused path, or the run could not proceed; nothing was written. */
  error: 2,
  /** An update left conflict markers; with `--check`: an update would. */
  conflict: 3,
  /** The user interrupted a prompt. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

// From least to most serious: a fleet run ends with the most serious outcome of any project.
const SEVERITY: readonly ExitCode[] = [
  EXIT.ok,
  EXIT.drift,
  EXIT.conflict,
  EXIT.error,
  EXIT.interrupted,
];

export function worstExitCode(codes: readonly ExitCode[]): ExitCode {
  let worst: ExitCode = EXIT.ok;
  for (const code of codes) if (SEVERITY.indexOf(code) > SEVERITY.indexOf(worst)) worst = code;
  return worst;
}
