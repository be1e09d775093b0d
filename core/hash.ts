import { createHash } from 'node:crypto';

/** The hash `.yo-rc.json` records of each file, and updates compare with. */
export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
