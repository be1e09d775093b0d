import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mergeThreeWay, mergeTwoWay } from '../../core/merge.js';
import { REPO_ROOT } from '../support/paths.js';

const LABELS = { ours: 'yours', base: 'base', theirs: 'template' };
const TASK = readFileSync(path.join(REPO_ROOT, 'templates/user/python_task.py'), 'utf8');
const lines = TASK.split('\n');
const LAST = lines.length - 2; // the text ends with a newline: the last line is one before ''

/** The task with a line replaced, as one side's one-line edit. */
const withLine = (index: number, text: string) =>
  lines.map((line, i) => (i === index ? text : line)).join('\n');

describe('two-way merge (no base): only the differing lines are marked', () => {
  test('a one-line edit on each side of python_task.py: two small conflicts, every other line kept once', async () => {
    const yours = withLine(0, '# edited by you');
    const template = withLine(LAST, '# changed in the template');
    const merged = await mergeTwoWay(yours, template, LABELS);
    expect(merged.conflict).toBe(true);
    expect(merged.content).toBe(
      [
        '<<<<<<< yours',
        '# edited by you',
        '=======',
        lines[0],
        '>>>>>>> template',
        ...lines.slice(1, LAST),
        '<<<<<<< yours',
        lines[LAST],
        '=======',
        '# changed in the template',
        '>>>>>>> template',
        '',
      ].join('\n'),
    );
    // Four marker lines per conflict: 8 more lines, where merging against nothing made it
    // the whole file twice over.
    expect(merged.content.split('\n').length - TASK.split('\n').length).toBe(8);
    const againstNothing = await mergeThreeWay('', yours, template, LABELS);
    expect(againstNothing.content.split('\n').length - TASK.split('\n').length).toBeGreaterThan(
      lines.length,
    );
  });

  test('identical sides: no conflict, the text as it is', async () => {
    expect(await mergeTwoWay(TASK, TASK, LABELS)).toEqual({ content: TASK, conflict: false });
  });

  test('a line only one side has is still marked: without a base, an addition and a deletion look alike', async () => {
    const merged = await mergeTwoWay('a\nb\n', 'a\nb\nc\n', LABELS);
    expect(merged).toEqual({
      content: ['a', 'b', '<<<<<<< yours', '=======', 'c', '>>>>>>> template', ''].join('\n'),
      conflict: true,
    });
  });
});

const DIFF3_LABELS = { ours: 'yours', base: 'base-label', theirs: 'template-label' };
const BASE = 'a\nb\nc\nd\ne';

describe('mergeThreeWay', () => {
  test('changes to different lines merge cleanly', async () => {
    const merged = await mergeThreeWay(BASE, 'A\nb\nc\nd\ne', 'a\nb\nc\nd\nE', DIFF3_LABELS);
    expect(merged).toEqual({ content: 'A\nb\nc\nd\nE', conflict: false });
  });

  test('the same change on both sides is no conflict', async () => {
    const both = 'a\nb\nC\nd\ne';
    expect(await mergeThreeWay(BASE, both, both, DIFF3_LABELS)).toEqual({
      content: both,
      conflict: false,
    });
  });

  test('different changes to one line: git diff3 markers with the labels', async () => {
    const merged = await mergeThreeWay(
      BASE,
      'a\nb\nmine\nd\ne',
      'a\nb\ntheirs\nd\ne',
      DIFF3_LABELS,
    );
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
    const merged = await mergeThreeWay('', 'x\ny', 'x\nz', DIFF3_LABELS);
    expect(merged.conflict).toBe(true);
    expect(merged.content).toContain('<<<<<<< yours');
    expect(merged.content).toContain('y');
    expect(merged.content).toContain('z');
  });
});
