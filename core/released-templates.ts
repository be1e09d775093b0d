import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from './errors.js';
import { missingValueError } from './options.js';

const PACKAGE = 'generator-scdf-task';

/** Why an older version's templates could not be had; the update goes on without them. */
export class TemplatesUnavailable extends Error {
  override name = 'TemplatesUnavailable';
}

/**
 * Where fetched versions are kept: `$XDG_CACHE_HOME/generator-scdf-task`, or
 * `~/.cache/generator-scdf-task`. A published version never changes, so nothing here expires.
 */
export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, PACKAGE);
}

function firstLines(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.replace(/^npm (error|ERR!) /, '').trim())
    .filter((line) => line !== '');
  return lines.slice(0, 3).join('; ');
}

/**
 * Fetches the package tarball with the user's own npm, so that their registry, scopes, proxy,
 * certificates and tokens apply exactly as for `npm install`. The retry settings only bound how
 * long an offline machine waits before the update goes on without the base.
 */
function npmPack(version: string, destination: string, cwd: string, offline: boolean): string {
  const windows = process.platform === 'win32';
  const args = [
    'pack',
    `${PACKAGE}@${version}`,
    '--pack-destination',
    destination,
    '--json',
    '--ignore-scripts',
    ...(offline
      ? ['--offline']
      : ['--fetch-retries=1', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=3000']),
  ];
  // npm.cmd runs only through a shell on Windows, where a folder name may hold spaces.
  const result = spawnSync(
    windows ? 'npm.cmd' : 'npm',
    windows ? args.map((arg) => `"${arg}"`) : args,
    { cwd, encoding: 'utf8', timeout: 120_000, shell: windows, windowsHide: true },
  );
  if (result.error) throw new TemplatesUnavailable(`npm could not be run: ${result.error.message}`);
  // With --json, npm prints its result, or its error's summary, as JSON on stdout.
  let printed: { filename?: unknown }[] | { error?: { summary?: unknown } } | undefined;
  try {
    printed = JSON.parse(result.stdout) as typeof printed;
  } catch {
    printed = undefined;
  }
  const filename = Array.isArray(printed) ? printed[0]?.filename : undefined;
  if (result.status !== 0 || typeof filename !== 'string') {
    const summary = Array.isArray(printed) ? undefined : printed?.error?.summary;
    const why =
      typeof summary === 'string'
        ? summary
        : firstLines(result.stderr) || firstLines(result.stdout) || `exit ${String(result.status)}`;
    throw new TemplatesUnavailable(`npm pack ${PACKAGE}@${version} failed: ${why}`);
  }
  return path.join(destination, path.basename(filename));
}

async function extract(tarball: string, into: string): Promise<void> {
  const tar = await import('tar');
  // Only the templates and the manifest are needed; links and anything else are never written.
  await tar.x({
    file: tarball,
    cwd: into,
    strict: true,
    filter: (entryPath, entry) =>
      'type' in entry &&
      (entry.type === 'File' || entry.type === 'Directory') &&
      (entryPath === 'package/package.json' || entryPath.startsWith('package/templates/')),
  });
}

interface Manifest {
  readonly name?: unknown;
  readonly version?: unknown;
}

function readManifest(packageRoot: string): Manifest {
  const manifest = path.join(packageRoot, 'package.json');
  try {
    return existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as Manifest) : {};
  } catch {
    return {};
  }
}

/** Unpacks a package tarball into `into/package`, checked to be this package at `version`. */
async function unpackVersion(tarball: string, into: string, version: string): Promise<void> {
  try {
    await extract(tarball, into);
  } catch (error) {
    throw new TemplatesUnavailable(`cannot unpack ${tarball}: ${(error as Error).message}`);
  }
  const found = readManifest(path.join(into, 'package'));
  if (found.name !== PACKAGE || found.version !== version)
    throw new TemplatesUnavailable(
      `${tarball} holds ${String(found.name)}@${String(found.version)}, not ${PACKAGE}@${version}`,
    );
  if (!existsSync(path.join(into, 'package', 'templates')))
    throw new TemplatesUnavailable(`${tarball} holds no templates/ folder`);
}

// Tarballs the user packed are unpacked for this run only: the cache holds what a registry
// served, and a local build may carry the same version number as a published one.
const scratch: string[] = [];
function scratchDir(): string {
  if (scratch.length === 0)
    process.once('exit', () => {
      for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
    });
  const dir = mkdtempSync(path.join(os.tmpdir(), `${PACKAGE}-base-`));
  scratch.push(dir);
  return dir;
}

/** `generator-scdf-task-<version>.tgz` (what `npm pack` names it) in the project or beside it. */
function tarballBeside(version: string, projectRoot: string): string | undefined {
  const name = `${PACKAGE}-${version}.tgz`;
  return [projectRoot, path.dirname(projectRoot)]
    .map((dir) => path.join(dir, name))
    .find((file) => existsSync(file));
}

/** Fetches with npm into the cache: from the registry, else from npm's own cache. */
async function fetchIntoCache(version: string, cwd: string): Promise<string> {
  const root = cacheRoot();
  const final = path.join(root, version);
  const templates = path.join(final, 'package', 'templates');
  try {
    mkdirSync(root, { recursive: true });
  } catch (error) {
    throw new TemplatesUnavailable(`cannot create ${root}: ${(error as Error).message}`);
  }
  // Built beside its final place and renamed into it, so a cached version is always whole, even
  // when two runs fetch the same version at once.
  const work = mkdtempSync(path.join(root, `.${version}-`));
  try {
    let tarball: string;
    try {
      tarball = npmPack(version, work, cwd, false);
    } catch (online) {
      // The registry is out of reach, but an earlier install may have left the tarball in npm's
      // cache (`npm cache add` puts it there on purpose).
      try {
        tarball = npmPack(version, work, cwd, true);
      } catch {
        throw new TemplatesUnavailable(
          `${(online as Error).message}; npm's cache does not hold it either`,
        );
      }
    }
    const unpacked = path.join(work, 'unpacked');
    mkdirSync(unpacked);
    await unpackVersion(tarball, unpacked, version);
    try {
      renameSync(unpacked, final);
    } catch (error) {
      if (!existsSync(templates)) throw error;
    }
    return templates;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function fetchVersion(
  version: string,
  cwd: string,
  projectRoot: string,
  beside: string | undefined,
): Promise<string> {
  const cached = path.join(cacheRoot(), version, 'package', 'templates');
  if (existsSync(cached)) return cached;
  if (beside !== undefined) {
    const into = scratchDir();
    await unpackVersion(beside, into, version);
    return path.join(into, 'package', 'templates');
  }
  try {
    return await fetchIntoCache(version, cwd);
  } catch (error) {
    if (!(error instanceof TemplatesUnavailable)) throw error;
    throw new TemplatesUnavailable(
      `${error.message}; no ${PACKAGE}-${version}.tgz in ${projectRoot} or ${path.dirname(projectRoot)}`,
    );
  }
}

/** The templates of one version, given with `--base`: its packed tarball or its package folder. */
export interface SuppliedBase {
  readonly version: string;
  readonly templates: string;
  /** As the user gave it, for messages. */
  readonly given: string;
}

const BASE_RULE =
  `give the packed tarball (${PACKAGE}-<version>.tgz, as npm pack makes it) or the package ` +
  'folder (its package.json and templates/) of the version that generated the project';

/** Reads `--base`: refused, naming the rule, unless it is this package with its templates. */
export async function suppliedBase(given: string, cwd: string): Promise<SuppliedBase> {
  if (given === '') throw missingValueError('base');
  const where = path.resolve(cwd, given);
  let stat;
  try {
    stat = statSync(where);
  } catch {
    throw new InputError(`--base: ${given} does not exist; ${BASE_RULE}`);
  }
  let packageRoot = where;
  if (stat.isFile()) {
    const into = scratchDir();
    try {
      await extract(where, into);
    } catch (error) {
      throw new InputError(
        `--base: ${given} is not a tarball (${(error as Error).message}); ${BASE_RULE}`,
      );
    }
    packageRoot = path.join(into, 'package');
  } else if (
    !existsSync(path.join(where, 'package.json')) &&
    existsSync(path.join(where, 'package'))
  ) {
    // An unpacked tarball: its files sit under package/.
    packageRoot = path.join(where, 'package');
  }
  const found = readManifest(packageRoot);
  if (found.name !== PACKAGE || typeof found.version !== 'string')
    throw new InputError(`--base: ${given} holds no ${PACKAGE} package.json; ${BASE_RULE}`);
  const templates = path.join(packageRoot, 'templates');
  if (!existsSync(path.join(templates, 'managed')))
    throw new InputError(`--base: ${given} holds no templates/ folder; ${BASE_RULE}`);
  return { version: found.version, templates, given };
}

// A fleet run meets the same recorded version in many projects: fetch it, or fail, once (per
// tarball found beside a project, since those may differ).
const fetched = new Map<string, Promise<string>>();

/**
 * The templates folder of a released version of this package: from the cache, else from
 * `generator-scdf-task-<version>.tgz` in the project or its parent folder, else fetched with npm
 * (from the registry, else from npm's own cache) and cached. Throws TemplatesUnavailable when it
 * cannot be had (unpublished, offline, no npm).
 */
export function releasedTemplates(
  version: string,
  cwd: string,
  projectRoot: string,
): Promise<string> {
  // It becomes a folder name and an npm argument: a plain version, nothing a shell or path reads.
  if (!/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(version))
    return Promise.reject(
      new TemplatesUnavailable(`${JSON.stringify(version)} is not a plain version`),
    );
  const beside = tarballBeside(version, projectRoot);
  const key = beside ?? version;
  let templates = fetched.get(key);
  if (!templates) {
    templates = fetchVersion(version, cwd, projectRoot, beside);
    fetched.set(key, templates);
  }
  return templates;
}
