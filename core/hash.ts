import { createHash } from 'node:crypto';

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * How many hex digits of a file's SHA-256 `.yo-rc.json` records: 64 bits tell an edit from the
 * generated text (what the record is for) as surely as the whole hash, at a quarter of the size.
 */
export const RECORDED_HASH_DIGITS = 16;

/** The hash `.yo-rc.json` records of a generated file. */
export function recordedHash(content: string | Buffer): string {
  return sha256(content).slice(0, RECORDED_HASH_DIGITS);
}

/**
 * Whether `content` is what a record's hash was taken of: records hold the first 16 hex digits,
 * those of earlier versions the whole 64.
 */
export function matchesHash(content: string | Buffer, recorded: string): boolean {
  return recorded.length >= RECORDED_HASH_DIGITS && sha256(content).startsWith(recorded);
}
