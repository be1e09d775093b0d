import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './paths.js';

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function tempDir(prefix = 'scdf-task-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs create-scdf-task as CI would: no terminal on stdin. */
export function runBin(args: readonly string[], cwd: string): RunResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Generates a project with defaults plus `args` in a new temp folder; returns its path. */
export function generateProject(taskName: string, args: readonly string[] = []): string {
  const cwd = tempDir();
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
