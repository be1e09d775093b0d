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
