import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, REPO_ROOT } from './paths.js';

/** The Yeoman front end started through yeoman-environment, as `yo scdf-task` starts it. */
export const YEOMAN_CLI = path.join(REPO_ROOT, 'test/support/yeoman-cli.mjs');

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function tempDir(prefix = 'scdf-task-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * The two front ends of the one core: the `create-scdf-task` bin, and the Yeoman generator
 * started through yeoman-environment as `yo scdf-task` starts it. Scenario tables run through both.
 */
export const FRONT_ENDS = ['bin', 'yeoman'] as const;
export type FrontEnd = (typeof FRONT_ENDS)[number];

export interface RunOptions {
  /** Text for standard input (no terminal either way). */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * No run reaches a real registry or the user's caches: fetching an older version's templates
 * meets a closed port (a test that wants a registry passes its own) and caches in a folder of
 * its own.
 */
const OFFLINE: NodeJS.ProcessEnv = {
  npm_config_registry: 'http://127.0.0.1:9/',
  npm_config_cache: path.join(tempDir('scdf-npm-cache-'), 'npm'),
  XDG_CACHE_HOME: tempDir('scdf-xdg-cache-'),
};

/** Runs one front end as CI would: no terminal, output captured. */
export function runFrontEnd(
  frontEnd: FrontEnd,
  args: readonly string[],
  cwd: string,
  options: RunOptions = {},
): RunResult {
  const entry = frontEnd === 'bin' ? BIN : YEOMAN_CLI;
  const result = spawnSync(process.execPath, [entry, ...args], {
    cwd,
    encoding: 'utf8',
    input: options.input ?? '',
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...OFFLINE, ...options.env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let yoModules: string | undefined;

/**
 * The real `yo`, finding this checkout as it finds an installed generator (through NODE_PATH,
 * one of the places its lookup searches). Run as root, yo switches to uid 1000 (or $SUDO_UID):
 * `cwd` must be writable by that user (see tempDirForYo).
 */
export function runYo(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): RunResult {
  if (yoModules === undefined) {
    yoModules = path.join(tempDirForYo('scdf-yo-modules-'), 'node_modules');
    mkdirSync(yoModules);
    symlinkSync(REPO_ROOT, path.join(yoModules, 'generator-scdf-task'));
  }
  const result = spawnSync(path.join(REPO_ROOT, 'node_modules/.bin/yo'), ['scdf-task', ...args], {
    cwd,
    encoding: 'utf8',
    input: '',
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_PATH: yoModules,
      HOME: tempDirForYo('scdf-yo-home-'),
      NO_UPDATE_NOTIFIER: '1',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      ...env,
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A temp folder the unprivileged user `yo` switches to when run as root may write. */
export function tempDirForYo(prefix = 'scdf-yo-'): string {
  const dir = tempDir(prefix);
  chmodSync(dir, 0o777);
  return dir;
}

/** Runs create-scdf-task as CI would: no terminal on stdin. */
export function runBin(args: readonly string[], cwd: string, options: RunOptions = {}): RunResult {
  return runFrontEnd('bin', args, cwd, options);
}

/** Generates a project with defaults plus `args` in `cwd` (a new temp folder); returns its path. */
export function generateProject(
  taskName: string,
  args: readonly string[] = [],
  cwd: string = tempDir(),
): string {
  const result = runBin([taskName, '--defaults', ...args], cwd);
  if (result.status !== 0) {
    throw new Error(`generation failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return path.join(cwd, taskName);
}

/** Every file and folder under `dir` with a hash of its bytes and its mode: "exactly as it was". */
export function snapshotTree(dir: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (current: string, rel: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const mode = (statSync(full).mode & 0o777).toString(8);
      if (entry.isDirectory()) {
        tree[`${relPath}/`] = mode;
        walk(full, relPath);
      } else {
        tree[relPath] = `${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
      }
    }
  };
  walk(dir, '');
  return tree;
}

/** Contents of every file under `dir`, keyed by relative path, sorted. */
export function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [relPath] of Object.entries(snapshotTree(dir)).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!relPath.endsWith('/')) files[relPath] = readFileSync(path.join(dir, relPath), 'utf8');
  }
  return files;
}

/**
 * A copy of templates/ that a test changes to play a newer generator version; the core renders it
 * when SCDF_TASK_TEMPLATES names it.
 */
export function templateVariant(change: (templatesDir: string) => void): string {
  const dir = path.join(tempDir('scdf-templates-'), 'templates');
  cpSync(path.join(REPO_ROOT, 'templates'), dir, { recursive: true });
  change(dir);
  return dir;
}

/** Runs git in `cwd`; throws with its output when it fails. */
export function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(
      `git ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

/** A generated project committed to a fresh git repository, as a team keeps it. */
/** Commits everything in the repository at `project` under a throwaway identity. */
export function commitAll(project: string, message: string): void {
  git(project, 'add', '--all');
  git(
    project,
    '-c',
    'user.name=t',
    '-c',
    'user.email=t@example.invalid',
    'commit',
    '--quiet',
    '-m',
    message,
  );
}

export function committedProject(
  taskName: string,
  args: readonly string[] = [],
  cwd?: string,
): string {
  const project = generateProject(taskName, args, cwd);
  git(project, 'init', '--quiet', '--initial-branch=main');
  commitAll(project, 'generated');
  return project;
}

/** `git status` as sorted "XY path" entries: exactly what a run changed. */
export function changedPaths(project: string): string[] {
  return git(project, 'status', '--porcelain', '--untracked-files=all')
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}
