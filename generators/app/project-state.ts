import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from './answers.js';
import { INPUTS, type Answers } from './inputs.js';

/** The key this generator's state lives under in `.yo-rc.json`, as Yeoman names it. */
export const STORE_KEY = 'generator-scdf-task';
export const STORE_FILE = '.yo-rc.json';

/** What `.yo-rc.json` records about a generated project besides the answers. */
export interface StoredState {
  readonly answers: Readonly<Record<string, unknown>>;
  readonly generatorVersion?: string;
  /** Managed path → sha256 of what the generator last wrote there. */
  readonly managedFiles: Readonly<Record<string, string>>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readStoreFile(dir: string): Json | undefined {
  const file = path.join(dir, STORE_FILE);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new InputError(`${file} must hold a JSON object`);
  return parsed;
}

/** The state of a project made by this generator in `dir`, or undefined if there is none. */
export function readProjectState(dir: string): StoredState | undefined {
  const section = readStoreFile(dir)?.[STORE_KEY];
  if (section === undefined) return undefined;
  if (!isObject(section)) throw new InputError(`${STORE_FILE}: "${STORE_KEY}" must be an object`);
  const { generatorVersion, managedFiles, ...answers } = section;
  if (generatorVersion !== undefined && typeof generatorVersion !== 'string')
    throw new InputError(`${STORE_FILE}: "generatorVersion" must be a string`);
  const files = managedFiles ?? {};
  if (!isObject(files) || !Object.values(files).every((hash) => typeof hash === 'string'))
    throw new InputError(`${STORE_FILE}: "managedFiles" must map paths to sha256 strings`);
  return {
    answers,
    ...(generatorVersion === undefined ? {} : { generatorVersion }),
    managedFiles: files as Record<string, string>,
  };
}

/**
 * The new `.yo-rc.json` text: this generator's section rewritten in a fixed key order, other
 * generators' sections kept as they were, so that identical runs write identical bytes.
 */
export function renderStoreFile(
  dir: string,
  answers: Answers,
  generatorVersion: string,
  managedFiles: Readonly<Record<string, string>>,
): string {
  const existing = readStoreFile(dir) ?? {};
  const section: Json = {};
  for (const input of INPUTS) section[input.key] = answers[input.key];
  section.generatorVersion = generatorVersion;
  section.managedFiles = managedFiles;
  return `${JSON.stringify({ ...existing, [STORE_KEY]: section }, null, 2)}\n`;
}

/** True for a folder that exists and holds anything at all. */
export function isNonEmptyDir(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}

/** Compares dotted numeric versions; enough for this package's own semver releases. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0);
  const pb = b.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}
