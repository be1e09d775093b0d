export interface MergeResult {
  readonly content: string;
  readonly conflict: boolean;
}

export interface MergeLabels {
  readonly ours: string;
  readonly base: string;
  readonly theirs: string;
}

/**
 * Line-based three-way merge with node-diff3. Conflicts are written as git writes them with
 * `merge.conflictStyle=diff3` (`<<<<<<<`, `|||||||`, `=======`, `>>>>>>>`), so editors and
 * `git diff --check` recognise them. Loaded on first use: most runs merge nothing.
 */
export async function mergeThreeWay(
  base: string,
  ours: string,
  theirs: string,
  labels: MergeLabels,
): Promise<MergeResult> {
  const { mergeDiff3 } = await import('node-diff3');
  const split = (text: string) => text.split('\n');
  const merged = mergeDiff3(split(ours), split(base), split(theirs), {
    excludeFalseConflicts: true,
    label: { a: labels.ours, o: labels.base, b: labels.theirs },
  });
  return { content: merged.result.join('\n'), conflict: merged.conflict };
}

type CommonHunk = { readonly common: readonly string[] };
type DifferingHunk = { readonly buffer1: readonly string[]; readonly buffer2: readonly string[] };

/**
 * Line-based two-way merge, for when the base is unknown: lines both sides hold stay as they
 * are, and each run of lines where they differ is one conflict (`<<<<<<<`, `=======`,
 * `>>>>>>>`, no base section). Without a base nobody can tell whose edit a difference is, so
 * none is taken silently, but a one-line edit costs one small conflict, not the whole file.
 */
export async function mergeTwoWay(
  ours: string,
  theirs: string,
  labels: Pick<MergeLabels, 'ours' | 'theirs'>,
): Promise<MergeResult> {
  const { diffComm } = await import('node-diff3');
  // node-diff3 types this result loosely; its shape is documented in its README.
  const hunks = diffComm(ours.split('\n'), theirs.split('\n')) as unknown as readonly (
    CommonHunk | DifferingHunk
  )[];
  const lines: string[] = [];
  let conflict = false;
  for (const hunk of hunks) {
    if ('common' in hunk) {
      lines.push(...hunk.common);
      continue;
    }
    conflict = true;
    lines.push(
      `<<<<<<< ${labels.ours}`,
      ...hunk.buffer1,
      '=======',
      ...hunk.buffer2,
      `>>>>>>> ${labels.theirs}`,
    );
  }
  return { content: lines.join('\n'), conflict };
}
