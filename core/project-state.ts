import { InputError } from './errors.js';
import { INPUTS, type Answers } from './inputs.js';
import { recordedHash, sha256 } from './hash.js';
import type { PlannedFile } from './project-files.js';
import { OWNERS, type Owner } from './templates.js';
import { isVersion } from './versions.js';

/** The key this generator's state lives under in `.yo-rc.json`, as Yeoman names it. */
export const STORE_KEY = 'generator-scdf-task';
export const STORE_FILE = '.yo-rc.json';

/**
 * What `.yo-rc.json` records of one file the generator wrote: its owner and hash. The text itself
 * is rendered again from the templates of the version that wrote it when an update needs it.
 */
export interface WrittenFile {
  readonly owner: Owner;
  /** The first 16 hex digits of the SHA-256 of its text (all 64 in earlier versions' records). */
  readonly sha256: string;
  /** Only in records of versions that kept every file's text here; read, never written. */
  readonly content?: string;
  /** The update that wrote this record left conflict markers in the file. */
  readonly conflict?: boolean;
}

/** What `.yo-rc.json` records about a generated project besides the answers. */
export interface StoredState {
  readonly answers: Readonly<Record<string, unknown>>;
  readonly generatorVersion?: string;
  /** Path → what this generator last wrote there (absent in projects made before it was kept). */
  readonly lastGenerated?: Readonly<Record<string, WrittenFile>>;
  /** Managed path → sha256 of what was written: all that projects made by 0.1.0 recorded. */
  readonly managedFiles: Readonly<Record<string, string>>;
  /** Keys of this generator's section that this version does not know; written back as found. */
  readonly unknown: Readonly<Record<string, unknown>>;
}

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const KNOWN_KEYS = new Set<string>([
  ...INPUTS.map((input) => input.key),
  'generatorVersion',
  'lastGenerated',
  'managedFiles',
]);

/** Parses `.yo-rc.json` text; `where` names the file in messages. */
export function parseStoreFile(text: string, where: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new InputError(`${where} must hold a JSON object`);
  return parsed;
}

const SHA256 = /^(?:[0-9a-f]{16}|[0-9a-f]{64})$/;

function checkWritten(value: unknown, relPath: string): WrittenFile {
  if (isObject(value) && (OWNERS as readonly unknown[]).includes(value.owner)) {
    const owner = value.owner as Owner;
    const { conflict } = value;
    if (
      typeof value.sha256 === 'string' &&
      SHA256.test(value.sha256) &&
      (conflict === undefined || typeof conflict === 'boolean')
    )
      return { owner, sha256: value.sha256, ...(conflict === true ? { conflict } : {}) };
    // The record of earlier versions: the whole text.
    if (typeof value.content === 'string' && typeof value.executable === 'boolean')
      return { owner, sha256: sha256(value.content), content: value.content };
  }
  throw new InputError(
    `${STORE_FILE}: "lastGenerated" entry ${JSON.stringify(relPath)} must be ` +
      '{ "owner": "managed" | "user", "sha256": "<16 or 64 hex digits>" }',
  );
}

/** This generator's state in a parsed `.yo-rc.json`, or undefined if it has no section. */
export function projectState(store: Json): StoredState | undefined {
  const section = store[STORE_KEY];
  if (section === undefined) return undefined;
  if (!isObject(section)) throw new InputError(`${STORE_FILE}: "${STORE_KEY}" must be an object`);
  const { generatorVersion, managedFiles, lastGenerated } = section;
  if (
    generatorVersion !== undefined &&
    (typeof generatorVersion !== 'string' || !isVersion(generatorVersion))
  )
    throw new InputError(
      `${STORE_FILE}: "generatorVersion" ${JSON.stringify(generatorVersion)} is not a semantic version (such as 0.1.0)`,
    );
  const files = managedFiles ?? {};
  if (!isObject(files) || !Object.values(files).every((hash) => typeof hash === 'string'))
    throw new InputError(`${STORE_FILE}: "managedFiles" must map paths to sha256 strings`);
  let written: Record<string, WrittenFile> | undefined;
  if (lastGenerated !== undefined) {
    if (!isObject(lastGenerated))
      throw new InputError(`${STORE_FILE}: "lastGenerated" must map paths to files`);
    written = {};
    for (const [relPath, value] of Object.entries(lastGenerated))
      written[relPath] = checkWritten(value, relPath);
  }
  const answers: Json = {};
  const unknown: Json = {};
  for (const [key, value] of Object.entries(section)) {
    if (INPUTS.some((input) => input.key === key)) answers[key] = value;
    else if (!KNOWN_KEYS.has(key)) unknown[key] = value;
  }
  return {
    answers,
    ...(generatorVersion === undefined ? {} : { generatorVersion }),
    ...(written === undefined ? {} : { lastGenerated: written }),
    managedFiles: files as Record<string, string>,
    unknown,
  };
}

/**
 * The new `.yo-rc.json` text: this generator's section rewritten in a fixed key order (answers,
 * version, keys this version does not know, what was written), other generators' sections kept
 * as they were, so that identical runs write identical bytes. `conflicts` are the files this run
 * left conflict markers in: later runs fail until the markers are gone.
 */
export function renderStoreFile(
  existing: Json,
  unknown: Readonly<Record<string, unknown>>,
  answers: Answers,
  generatorVersion: string,
  plan: readonly PlannedFile[],
  conflicts: ReadonlySet<string> = new Set(),
): string {
  const section: Json = {};
  for (const input of INPUTS) section[input.key] = answers[input.key];
  section.generatorVersion = generatorVersion;
  Object.assign(section, unknown);
  const written: Record<string, WrittenFile> = {};
  for (const file of plan)
    written[file.path] = {
      owner: file.owner,
      sha256: recordedHash(file.content),
      ...(conflicts.has(file.path) ? { conflict: true } : {}),
    };
  section.lastGenerated = written;
  const text = JSON.stringify({ ...existing, [STORE_KEY]: section }, null, 2);
  return `${text.replace(WRITTEN_FILE_ENTRY, (_, key: string, fields: string) => `${key}{ ${fields.replace(/,\n {8}/g, ', ')} }`)}\n`;
}

/**
 * One `lastGenerated` entry as JSON.stringify lays it out, over four or five lines. Put on one
 * line each, a default project's record stays under 8 KB and a diff of it shows one line a file;
 * only whitespace changes, so every reader, old versions included, reads the same values.
 */
const WRITTEN_FILE_ENTRY =
  /^( {6}"(?:[^"\\]|\\.)*": )\{\n {8}("owner": "(?:managed|user)",\n {8}"sha256": "[0-9a-f]+"(?:,\n {8}"conflict": true)?)\n {6}\}/gm;
