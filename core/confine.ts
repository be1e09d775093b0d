import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
} from 'node:fs';
import path from 'node:path';
import { InputError } from './errors.js';

/**
 * Every read and write of the core goes through here: a project path is a relative POSIX path
 * with no "." or ".." segment, resolved under the project root, and no part of it may be a
 * symbolic link. A link could point anywhere (another repository, /proc/self/environ); following
 * one would print or overwrite what lies outside the project.
 */

/** Throws unless `relPath` is a plain relative path inside the project; `source` names its origin. */
export function checkProjectPath(relPath: string, source: string): void {
  const bad = (why: string) =>
    new InputError(`${source}: path ${JSON.stringify(relPath)} ${why}; refusing to use it`);
  if (relPath === '' || relPath.includes('\0')) throw bad('is empty or holds a NUL byte');
  if (relPath.includes('\\')) throw bad('holds a backslash');
  if (path.posix.isAbsolute(relPath)) throw bad('is absolute');
  if (relPath.split('/').some((part) => part === '' || part === '.' || part === '..'))
    throw bad('is not a plain path inside the project (empty, "." or ".." segment)');
}

export type Entry =
  | { readonly kind: 'missing' }
  | { readonly kind: 'file'; readonly content: Buffer; readonly executable: boolean }
  | { readonly kind: 'folder' }
  | { readonly kind: 'symlink'; readonly at: string; readonly target: string }
  | { readonly kind: 'other'; readonly at: string };

function lstatOrUndefined(full: string) {
  try {
    return lstatSync(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * What is at `relPath` under `root`, looking at every component from the root down without
 * following links; a file's bytes are read with O_NOFOLLOW as a second guard.
 */
export function inspect(root: string, relPath: string): Entry {
  const parts = relPath.split('/');
  let current = root;
  for (const [index, part] of parts.entries()) {
    current = path.join(current, part);
    const at = parts.slice(0, index + 1).join('/');
    const stat = lstatOrUndefined(current);
    if (!stat) return { kind: 'missing' };
    if (stat.isSymbolicLink()) return { kind: 'symlink', at, target: readlinkSync(current) };
    const last = index === parts.length - 1;
    if (!last) {
      // A file where a folder should be: the path cannot exist; writing it will say so.
      if (!stat.isDirectory()) return stat.isFile() ? { kind: 'missing' } : { kind: 'other', at };
      continue;
    }
    if (stat.isDirectory()) return { kind: 'folder' };
    if (!stat.isFile()) return { kind: 'other', at };
    const fd = openSync(current, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const content = readFileSync(fd);
      return { kind: 'file', content, executable: (fstatSync(fd).mode & 0o100) !== 0 };
    } finally {
      closeSync(fd);
    }
  }
  return { kind: 'folder' };
}

export type FileOnDisk = Extract<Entry, { kind: 'file' }>;

/**
 * Reads every path; refuses, naming all of them at once, links and special files anywhere on
 * the way and folders where a file belongs. Returns the files found (missing paths omitted).
 */
export function readConfined(root: string, relPaths: Iterable<string>): Map<string, FileOnDisk> {
  const found = new Map<string, FileOnDisk>();
  const links = new Map<string, string>();
  const others = new Set<string>();
  const folders: string[] = [];
  for (const relPath of relPaths) {
    const entry = inspect(root, relPath);
    if (entry.kind === 'file') found.set(relPath, entry);
    else if (entry.kind === 'symlink') links.set(entry.at, entry.target);
    else if (entry.kind === 'other') others.add(entry.at);
    else if (entry.kind === 'folder') folders.push(relPath);
  }
  const problems: string[] = [];
  if (links.size > 0)
    problems.push(
      `symbolic links, which are never followed: ${[...links]
        .map(([at, target]) => `${at} -> ${target}`)
        .join(', ')}`,
    );
  if (others.size > 0) problems.push(`not regular files or folders: ${[...others].join(', ')}`);
  if (folders.length > 0)
    problems.push(`folders where the generator keeps a file: ${folders.join(', ')}`);
  if (problems.length > 0) {
    throw new InputError(
      `refusing to touch ${root}, which has ${problems.join('; ')}. Replace each with a regular ` +
        'file (or remove it), then run again; nothing was written',
    );
  }
  return found;
}
