import { describe, expect, test } from '@jest/globals';
import { mergeThreeWay } from '../../core/merge.js';

const LABELS = { ours: 'yours', base: 'base-label', theirs: 'template-label' };
const BASE = 'a\nb\nc\nd\ne';

describe('mergeThreeWay', () => {
  test('changes to different lines merge cleanly', async () => {
    const merged = await mergeThreeWay(BASE, 'A\nb\nc\nd\ne', 'a\nb\nc\nd\nE', LABELS);
    expect(merged).toEqual({ content: 'A\nb\nc\nd\nE', conflict: false });
  });

  test('the same change on both sides is no conflict', async () => {
    const both = 'a\nb\nC\nd\ne';
    expect(await mergeThreeWay(BASE, both, both, LABELS)).toEqual({
      content: both,
      conflict: false,
    });
  });

  test('different changes to one line: git diff3 markers with the labels', async () => {
    const merged = await mergeThreeWay(BASE, 'a\nb\nmine\nd\ne', 'a\nb\ntheirs\nd\ne', LABELS);
    expect(merged.conflict).toBe(true);
    expect(merged.content).toBe(
      [
        'a',
        'b',
        '<<<<<<< yours',
        'mine',
        '||||||| base-label',
        'c',
        '=======',
        'theirs',
        '>>>>>>> template-label',
        'd',
        'e',
      ].join('\n'),
    );
  });

  test('against an empty base every difference conflicts and both sides are kept', async () => {
    const merged = await mergeThreeWay('', 'x\ny', 'x\nz', LABELS);
    expect(merged.conflict).toBe(true);
    expect(merged.content).toContain('<<<<<<< yours');
    expect(merged.content).toContain('y');
    expect(merged.content).toContain('z');
  });
});
