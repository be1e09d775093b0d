import type { FileChange, FileState } from './reconcile.js';

const OWNER_LABEL = { managed: 'generator', user: 'yours' } as const;

/** How an update run reports each state, in the order the summary lists them. */
const UPDATE_LABELS: readonly [FileState, string][] = [
  ['conflict', 'conflicts (resolve the markers, then commit)'],
  ['unresolved', 'conflict markers of an earlier update still unresolved'],
  ['updated', 'updated'],
  ['merged', 'merged (template changes merged into your edits)'],
  ['created', 'created'],
  ['restored', 'restored (you deleted them; the generator owns them)'],
  ['overwritten', 'overwritten by --force'],
  ['removed', 'removed (no longer generated)'],
  ['kept', 'kept (edited by you)'],
  ['left-deleted', 'left deleted (yours)'],
  ['orphaned', 'kept, no longer generated (you edited them)'],
];

/** How `--check` names each state: what an update would do. */
export const CHECK_LABELS: Readonly<Record<FileState, string>> = {
  unchanged: 'up to date',
  updated: 'template changed',
  merged: 'template changed, merges with your edits',
  conflict: 'would conflict',
  unresolved: 'conflict markers unresolved',
  kept: 'edited by you',
  created: 'would be created',
  restored: 'deleted by you, would be restored (managed)',
  'left-deleted': 'deleted by you, stays deleted (yours)',
  overwritten: 'edited by you, --force would overwrite',
  removed: 'no longer generated, would be removed',
  orphaned: 'no longer generated, edited by you: would be kept',
};

function pathsIn(changes: readonly FileChange[], state: FileState): string[] {
  return changes.filter((change) => change.state === state).map((change) => change.path);
}

function ownerChanges(changes: readonly FileChange[]): string[] {
  return changes
    .filter((change) => change.previousOwner !== undefined)
    .map(
      (change) =>
        `${change.path} (${OWNER_LABEL[change.previousOwner ?? change.owner]} -> ${OWNER_LABEL[change.owner]})`,
    );
}

/**
 * The update summary: unchanged files counted, every other state listed with its paths (a new
 * project's files only counted: the README lists them).
 */
export function summarize(changes: readonly FileChange[], fresh = false): string {
  const lines = [
    fresh
      ? `created: ${pathsIn(changes, 'created').length} files`
      : `unchanged: ${pathsIn(changes, 'unchanged').length}`,
  ];
  for (const [state, label] of UPDATE_LABELS) {
    if (fresh && state === 'created') continue;
    const paths = pathsIn(changes, state);
    if (paths.length > 0) lines.push(`${label}: ${paths.length} (${paths.join(', ')})`);
  }
  const owners = ownerChanges(changes);
  if (owners.length > 0) lines.push(`owner changed: ${owners.join(', ')}`);
  return lines.join('\n');
}

/** `--check`'s per-file table: every file not up to date, with its state. */
export function checkTable(changes: readonly FileChange[]): string {
  const rows = changes.filter((change) => change.state !== 'unchanged');
  const width = Math.max(0, ...rows.map((change) => CHECK_LABELS[change.state].length));
  const lines = rows.map(
    (change) => `  ${CHECK_LABELS[change.state].padEnd(width)}  ${change.path}`,
  );
  const owners = ownerChanges(changes);
  if (owners.length > 0) lines.push(`  owner changed: ${owners.join(', ')}`);
  return lines.join('\n');
}

/** A short account for one line of a fleet run: the states that are not `unchanged`. */
export function countsLine(
  changes: readonly FileChange[],
  labels: (state: FileState) => string,
): string {
  const counts = new Map<FileState, string[]>();
  for (const change of changes) {
    if (change.state === 'unchanged') continue;
    counts.set(change.state, [...(counts.get(change.state) ?? []), change.path]);
  }
  return [...counts]
    .map(([state, paths]) =>
      state === 'conflict' || state === 'unresolved'
        ? `${labels(state)}: ${paths.join(', ')}`
        : `${labels(state)} ${paths.length}`,
    )
    .join(', ');
}

/** Loaded on demand: only `--check` prints diffs, and every run pays for what it imports. */
export async function unifiedDiff(change: FileChange): Promise<string> {
  const { createTwoFilesPatch } = await import('diff');
  const before = change.disk?.content.toString('utf8') ?? '';
  const after = change.outcome?.content ?? '';
  const from = change.disk ? `a/${change.path}` : '/dev/null';
  const to = change.outcome ? `b/${change.path}` : '/dev/null';
  let patch = '';
  if (before !== after || !change.disk || !change.outcome) {
    patch = createTwoFilesPatch(from, to, before, after, undefined, undefined, { context: 3 });
  }
  if (change.disk && change.outcome && change.disk.executable !== change.outcome.executable) {
    patch += `mode: ${change.path} would ${change.outcome.executable ? '' : 'no longer '}be executable\n`;
  }
  // createTwoFilesPatch starts with a line of "=" meant for humans comparing two named files.
  return patch.replace(/^=+\n/, '');
}
