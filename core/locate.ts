import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from './errors.js';
import {
  parseStoreFile,
  projectState,
  STORE_FILE,
  type Json,
  type StoredState,
} from './project-state.js';

export interface Project {
  readonly root: string;
  /** The whole parsed `.yo-rc.json`, other generators' sections included. */
  readonly store: Json;
  readonly state: StoredState;
}

/** The project whose `.yo-rc.json` is in `dir`, or undefined; a linked `.yo-rc.json` is refused. */
export function projectAt(dir: string): Project | undefined {
  const file = path.join(dir, STORE_FILE);
  let stat;
  try {
    stat = lstatSync(file);
  } catch {
    return undefined;
  }
  if (stat.isSymbolicLink())
    throw new InputError(`${file} is a symbolic link; refusing to follow it`);
  if (!stat.isFile()) return undefined;
  const store = parseStoreFile(readFileSync(file, 'utf8'), file);
  const state = projectState(store);
  return state ? { root: dir, store, state } : undefined;
}

/**
 * The nearest generated project at or above `cwd`, found as Yeoman finds `.yo-rc.json`: walking
 * up the folders. A `.yo-rc.json` of another generator is passed by.
 */
export function findProject(cwd: string): Project | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const found = projectAt(dir);
    if (found) return found;
    if (path.dirname(dir) === dir) return undefined;
  }
}
