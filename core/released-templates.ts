import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
function npmPack(version: string, destination: string, cwd: string): string {
  const windows = process.platform === 'win32';
  const args = [
    'pack',
    `${PACKAGE}@${version}`,
    '--pack-destination',
    destination,
    '--json',
    '--ignore-scripts',
    '--fetch-retries=1',
    '--fetch-retry-mintimeout=1000',
    '--fetch-retry-maxtimeout=3000',
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

async function fetchVersion(version: string, cwd: string): Promise<string> {
  const root = cacheRoot();
  const final = path.join(root, version);
  const templates = path.join(final, 'package', 'templates');
  if (existsSync(templates)) return templates;
  try {
    mkdirSync(root, { recursive: true });
  } catch (error) {
    throw new TemplatesUnavailable(`cannot create ${root}: ${(error as Error).message}`);
  }
  // Built beside its final place and renamed into it, so a cached version is always whole, even
  // when two runs fetch the same version at once.
  const work = mkdtempSync(path.join(root, `.${version}-`));
  try {
    const tarball = npmPack(version, work, cwd);
    const unpacked = path.join(work, 'unpacked');
    mkdirSync(unpacked);
    try {
      await extract(tarball, unpacked);
    } catch (error) {
      throw new TemplatesUnavailable(`cannot unpack ${tarball}: ${(error as Error).message}`);
    }
    const manifest = path.join(unpacked, 'package', 'package.json');
    const found = existsSync(manifest)
      ? (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; version?: unknown })
      : {};
    if (found.name !== PACKAGE || found.version !== version)
      throw new TemplatesUnavailable(
        `the registry's ${PACKAGE}@${version} holds ${String(found.name)}@${String(found.version)}`,
      );
    if (!existsSync(path.join(unpacked, 'package', 'templates')))
      throw new TemplatesUnavailable(`${PACKAGE}@${version} holds no templates/ folder`);
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

// A fleet run meets the same recorded version in many projects: fetch it, or fail, once.
const fetched = new Map<string, Promise<string>>();

/**
 * The templates folder of a published version of this package, fetched once and cached. Throws
 * TemplatesUnavailable when it cannot be had (offline, not published, no npm).
 */
export function releasedTemplates(version: string, cwd: string): Promise<string> {
  // It becomes a folder name and an npm argument: a plain version, nothing a shell or path reads.
  if (!/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(version))
    return Promise.reject(
      new TemplatesUnavailable(`${JSON.stringify(version)} is not a plain version`),
    );
  let templates = fetched.get(version);
  if (!templates) {
    templates = fetchVersion(version, cwd);
    fetched.set(version, templates);
  }
  return templates;
}
