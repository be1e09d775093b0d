import type { FileOnDisk } from './confine.js';
import { mergeThreeWay, mergeTwoWay, type MergeLabels } from './merge.js';
import { matchesHash } from './hash.js';
import type { PlannedFile } from './project-files.js';
import type { Owner } from './templates.js';

/**
 * What an update does to one file, decided three ways: base (what the generator last wrote),
 * yours (the disk) and the template (what this version writes).
 * - `created`: new in the templates (or a fresh project).
 * - `unchanged`: the disk already holds what the templates write.
 * - `updated`: the template changed and you had not edited the file (or only its mode drifted).
 * - `merged`: both changed; the template's change merged cleanly into your edits.
 * - `conflict`: both changed the same lines; the file gets conflict markers.
 * - `unresolved`: the markers an earlier update wrote are still in the file.
 * - `kept`: you edited it and the template did not change: left as you made it.
 * - `restored`: a managed file you deleted; the generator owns it, so it comes back.
 * - `left-deleted`: a file of yours that you deleted; it stays deleted.
 * - `removed`: the templates no longer make it and you had not edited it: deleted.
 * - `orphaned`: the templates no longer make it, but you edited it: kept.
 * - `overwritten`: `--force` replaced your version with the template's.
 */
export type FileState =
  | 'created'
  | 'unchanged'
  | 'updated'
  | 'merged'
  | 'conflict'
  | 'unresolved'
  | 'kept'
  | 'restored'
  | 'left-deleted'
  | 'removed'
  | 'orphaned'
  | 'overwritten';

export interface Outcome {
  readonly content: string;
  readonly executable: boolean;
}

export interface FileChange {
  readonly path: string;
  readonly state: FileState;
  /** Owner in this version; for files no longer generated, the owner they had. */
  readonly owner: Owner;
  /** Set when the owner differs from what the generator last recorded. */
  readonly previousOwner?: Owner;
  /** The disk before the run. */
  readonly disk?: FileOnDisk;
  /** What the file becomes: an Outcome to write, null to delete, undefined to leave alone. */
  readonly outcome?: Outcome | null;
}

/** What the generator last wrote at one path, as far as it is known. */
export interface Base {
  readonly owner: Owner;
  /** Recorded by versions that kept whole contents in `.yo-rc.json`. */
  readonly content?: string;
  readonly sha256: string;
  /** The last update left conflict markers in this file. */
  readonly conflict?: boolean;
}

export interface ReconcileInput {
  readonly plan: readonly PlannedFile[];
  readonly base: ReadonlyMap<string, Base>;
  readonly disk: ReadonlyMap<string, FileOnDisk>;
  readonly force: boolean;
  readonly labels: MergeLabels;
  /**
   * The text the generator last wrote at a path, when only its hash is recorded: asked for only
   * where both sides changed a file, since getting it may mean fetching an older version.
   * Undefined when it cannot be had.
   */
  readonly baseContent?: (relPath: string) => Promise<string | undefined>;
}

/** The lines `mergeThreeWay` writes around a conflict, with the labels the core gives them. */
const MARKER = /^(<<<<<<< yours|\|\|\|\|\|\|\| generator-scdf-task |>>>>>>> generator-scdf-task )/m;

/** Whether the markers the last update wrote into this file are still there. */
function unresolved(disk: FileOnDisk, base: Base | undefined): boolean {
  return base?.conflict === true && MARKER.test(disk.content.toString('utf8'));
}

function isBase(disk: FileOnDisk, base: Base | undefined): boolean {
  return base !== undefined && matchesHash(disk.content, base.sha256);
}

async function decide(
  file: PlannedFile,
  base: Base | undefined,
  disk: FileOnDisk | undefined,
  input: ReconcileInput,
): Promise<Pick<FileChange, 'state' | 'outcome'>> {
  const theirs: Outcome = { content: file.content, executable: file.executable };
  if (!disk) {
    if (!base || input.force) return { state: 'created', outcome: theirs };
    return file.owner === 'managed'
      ? { state: 'restored', outcome: theirs }
      : { state: 'left-deleted' };
  }
  if (unresolved(disk, base) && !input.force) return { state: 'unresolved' };
  const ours = disk.content.toString('utf8');
  if (ours === file.content) {
    return disk.executable === file.executable
      ? { state: 'unchanged' }
      : { state: 'updated', outcome: theirs };
  }
  if (isBase(disk, base)) return { state: 'updated', outcome: theirs };
  if (input.force) return { state: 'overwritten', outcome: theirs };
  const mode = file.executable;
  // The hash is enough to tell that the template did not change: no base text is needed.
  if (base !== undefined && matchesHash(file.content, base.sha256)) {
    return disk.executable === mode
      ? { state: 'kept' }
      : { state: 'kept', outcome: { content: ours, executable: mode } };
  }
  // A file of yours the generator never recorded (projects from before user files were) could
  // hold anything: it stays as it is.
  if (base === undefined && file.owner === 'user') return { state: 'kept' };
  // Both sides changed. Without the base text nobody can tell whose edit a difference is: the
  // two sides are compared directly, lines they share kept and every difference marked, rather
  // than either side lost silently.
  const text = base && (base.content ?? (await input.baseContent?.(file.path)));
  const merged =
    text === undefined
      ? await mergeTwoWay(ours, file.content, input.labels)
      : await mergeThreeWay(text, ours, file.content, input.labels);
  return {
    state: merged.conflict ? 'conflict' : 'merged',
    outcome: { content: merged.content, executable: mode },
  };
}

/** Compares what this version writes with the disk and the base, file by file. */
export async function reconcile(input: ReconcileInput): Promise<FileChange[]> {
  const changes: FileChange[] = [];
  const planned = new Set(input.plan.map((file) => file.path));
  for (const file of input.plan) {
    const base = input.base.get(file.path);
    const disk = input.disk.get(file.path);
    const decided = await decide(file, base, disk, input);
    changes.push({
      path: file.path,
      owner: file.owner,
      ...(base && base.owner !== file.owner ? { previousOwner: base.owner } : {}),
      ...(disk ? { disk } : {}),
      ...decided,
    });
  }
  const retired = [...input.base].filter(([relPath]) => !planned.has(relPath));
  for (const [relPath, base] of retired.sort(([a], [b]) => (a < b ? -1 : 1))) {
    const disk = input.disk.get(relPath);
    if (!disk) continue;
    const state =
      unresolved(disk, base) && !input.force
        ? { state: 'unresolved' as const }
        : isBase(disk, base)
          ? { state: 'removed' as const, outcome: null }
          : { state: 'orphaned' as const };
    changes.push({ path: relPath, owner: base.owner, disk, ...state });
  }
  return changes;
}

/** Whether applying the change writes or deletes anything. */
export function writes(change: FileChange): boolean {
  return change.outcome !== undefined;
}
