import { createRequire } from 'node:module';

// semver is CommonJS: loading it, and with it Node's CommonJS loader, costs a fresh process a
// few milliseconds, so only runs that meet a recorded version (updates and checks) load it.
const require = createRequire(import.meta.url);

/** Whether `value` is a semantic version such as 0.1.0 or 1.0.0-rc.1. */
export function isVersion(value: string): boolean {
  const valid = require('semver/functions/valid') as typeof import('semver/functions/valid.js');
  return valid(value) !== null;
}

/** Whether version `a` is newer than `b` (pre-releases are older than their release). */
export function isNewer(a: string, b: string): boolean {
  const gt = require('semver/functions/gt') as typeof import('semver/functions/gt.js');
  return gt(a, b);
}
