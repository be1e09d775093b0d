import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { sha256, type Owner, type PlannedFile } from './project-files.js';

/**
 * How one file in the project relates to the templates:
 * - `create`: not on disk yet; written.
 * - `update`: a managed file (or, with --force, a user file) that differs; rewritten.
 * - `unchanged`: already equal to the templates.
 * - `kept`: a user-owned file that exists; never touched without --force.
 * - `remove`: a managed file the current templates no longer make, unedited; deleted.
 * - `orphaned`: such a file that the user edited; left alone and reported.
 */
export type ChangeKind = 'create' | 'update' | 'unchanged' | 'kept' | 'remove' | 'orphaned';

export interface FileChange {
  readonly path: string;
  readonly kind: ChangeKind;
  readonly owner: Owner | 'retired';
  /** What the templates want on disk (absent for retired files). */
  readonly planned?: PlannedFile;
  /** What is on disk now, as text (absent when missing). */
  readonly current?: string;
}

interface OnDisk {
  readonly content: Buffer;
  readonly executable: boolean;
}

function readOnDisk(root: string, relPath: string): OnDisk | undefined {
  const full = path.join(root, relPath);
  if (!existsSync(full)) return undefined;
  return {
    content: readFileSync(full),
    executable: (statSync(full).mode & 0o100) !== 0,
  };
}

function sameAsPlanned(disk: OnDisk, planned: PlannedFile): boolean {
  return (
    disk.executable === planned.executable && disk.content.equals(Buffer.from(planned.content))
  );
}

/**
 * Compares the rendered templates with the project on disk. `recorded` is the map of managed
 * paths to the hash of what the generator last wrote, from `.yo-rc.json`; it is how a file that
 * the templates dropped is told apart from one the user edited.
 */
export function reconcile(
  root: string,
  plan: readonly PlannedFile[],
  recorded: Readonly<Record<string, string>>,
  force: boolean,
): FileChange[] {
  const changes: FileChange[] = [];
  const planned = new Set(plan.map((file) => file.path));
  for (const file of plan) {
    const disk = readOnDisk(root, file.path);
    const current = disk?.content.toString('utf8');
    let kind: ChangeKind;
    if (!disk) kind = 'create';
    else if (file.owner === 'user' && !force) kind = 'kept';
    else kind = sameAsPlanned(disk, file) ? 'unchanged' : 'update';
    changes.push({ path: file.path, kind, owner: file.owner, planned: file, current });
  }
  for (const [relPath, hash] of Object.entries(recorded).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (planned.has(relPath)) continue;
    const disk = readOnDisk(root, relPath);
    if (!disk) continue;
    changes.push({
      path: relPath,
      kind: sha256(disk.content) === hash ? 'remove' : 'orphaned',
      owner: 'retired',
      current: disk.content.toString('utf8'),
    });
  }
  return changes;
}

/** Hashes of the managed files as written, for `.yo-rc.json`; sorted so reruns are identical. */
export function managedRecord(plan: readonly PlannedFile[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const file of plan) if (file.owner === 'managed') record[file.path] = sha256(file.content);
  return record;
}

/** Changes that `--check` counts as drift: managed files that an update would write or delete. */
export function drift(changes: readonly FileChange[]): FileChange[] {
  return changes.filter(
    (change) =>
      change.owner !== 'user' &&
      (change.kind === 'create' || change.kind === 'update' || change.kind === 'remove'),
  );
}

/** Loaded on demand: only `--check` prints diffs, and every run pays for what it imports. */
export async function unifiedDiff(change: FileChange): Promise<string> {
  const { createTwoFilesPatch } = await import('diff');
  const before = change.current ?? '';
  const after = change.kind === 'remove' ? '' : (change.planned?.content ?? '');
  const from = change.current === undefined ? '/dev/null' : `a/${change.path}`;
  const to = change.kind === 'remove' ? '/dev/null' : `b/${change.path}`;
  let patch = createTwoFilesPatch(from, to, before, after, undefined, undefined, { context: 3 });
  const disk = change.current;
  if (
    change.planned &&
    disk !== undefined &&
    disk === change.planned.content &&
    change.kind === 'update'
  ) {
    patch += `mode: ${change.path} should ${change.planned.executable ? '' : 'not '}be executable\n`;
  }
  // createTwoFilesPatch starts with a line of "=" meant for humans comparing two named files.
  return patch.replace(/^=+\n/, '');
}

const SUMMARY_ORDER: readonly [ChangeKind, string][] = [
  ['update', 'updated'],
  ['unchanged', 'unchanged'],
  ['create', 'created'],
  ['remove', 'removed'],
  ['kept', 'kept (yours)'],
  ['orphaned', 'kept and no longer generated (you edited them)'],
];

/** One line per kind with a count and the paths, unchanged files counted but not listed. */
export function summarize(changes: readonly FileChange[]): string {
  const lines: string[] = [];
  for (const [kind, label] of SUMMARY_ORDER) {
    const paths = changes.filter((change) => change.kind === kind).map((change) => change.path);
    if (kind === 'unchanged') lines.push(`${label}: ${paths.length}`);
    else if (paths.length > 0) lines.push(`${label}: ${paths.length} (${paths.join(', ')})`);
    else lines.push(`${label}: 0`);
  }
  return lines.join('\n');
}
