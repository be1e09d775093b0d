import { describe, expect, test } from '@jest/globals';
import type { FileOnDisk } from '../../core/confine.js';
import { sha256 } from '../../core/hash.js';
import type { PlannedFile } from '../../core/project-files.js';
import {
  reconcile,
  writes,
  type Base,
  type FileChange,
  type ReconcileInput,
} from '../../core/reconcile.js';

const LABELS = { ours: 'yours', base: 'generator-scdf-task 0.0.9 (last generated)', theirs: 't' };

function planned(
  path: string,
  content: string,
  owner: 'managed' | 'user' = 'managed',
): PlannedFile {
  return { path, owner, content, executable: path.endsWith('.sh') };
}

function onDisk(content: string, executable = false): FileOnDisk {
  return { kind: 'file', content: Buffer.from(content, 'utf8'), executable };
}

function recorded(content: string, owner: 'managed' | 'user' = 'managed', extra = {}): Base {
  return { owner, sha256: sha256(content), ...extra };
}

/** Reconciles one file; `baseText` answers baseContent for it, and the calls are counted. */
async function one(
  file: PlannedFile,
  base: Base | undefined,
  disk: FileOnDisk | undefined,
  options: { force?: boolean; baseText?: string } = {},
): Promise<{ change: FileChange; asked: string[] }> {
  const asked: string[] = [];
  const input: ReconcileInput = {
    plan: [file],
    base: new Map(base ? [[file.path, base]] : []),
    disk: new Map(disk ? [[file.path, disk]] : []),
    force: options.force ?? false,
    labels: LABELS,
    baseContent: (relPath) => {
      asked.push(relPath);
      return Promise.resolve(options.baseText);
    },
  };
  const changes = await reconcile(input);
  const [change] = changes;
  expect(changes).toHaveLength(1);
  if (!change) throw new Error('no change');
  return { change, asked };
}

const A = 'one\ntwo\nthree\nfour\nfive\n';
const A_THEIRS = 'one\ntwo\nthree\nfour\nFIVE\n';
const A_YOURS = 'ONE\ntwo\nthree\nfour\nfive\n';

describe('reconcile: a file the templates still make', () => {
  test('missing on disk in a fresh project: created with the template', async () => {
    const { change } = await one(planned('x.py', A), undefined, undefined);
    expect(change).toEqual({
      path: 'x.py',
      owner: 'managed',
      state: 'created',
      outcome: { content: A, executable: false },
    });
    expect(writes(change)).toBe(true);
  });

  test('a deleted managed file is restored; a deleted file of yours stays deleted', async () => {
    const managed = await one(planned('m.py', A), recorded(A), undefined);
    expect(managed.change.state).toBe('restored');
    expect(managed.change.outcome).toEqual({ content: A, executable: false });
    const user = await one(planned('u.py', A, 'user'), recorded(A, 'user'), undefined);
    expect(user.change.state).toBe('left-deleted');
    expect(user.change.outcome).toBeUndefined();
    expect(writes(user.change)).toBe(false);
  });

  test('--force creates a deleted file of yours again', async () => {
    const { change } = await one(planned('u.py', A, 'user'), recorded(A, 'user'), undefined, {
      force: true,
    });
    expect(change.state).toBe('created');
    expect(change.outcome).toEqual({ content: A, executable: false });
  });

  test('the disk holds the template: unchanged, or updated when only the mode differs', async () => {
    const same = await one(planned('run.sh', A), recorded(A), onDisk(A, true));
    expect(same.change.state).toBe('unchanged');
    expect(same.change.outcome).toBeUndefined();
    const mode = await one(planned('run.sh', A), recorded(A), onDisk(A, false));
    expect(mode.change).toMatchObject({
      state: 'updated',
      outcome: { content: A, executable: true },
    });
  });

  test('not edited since the last run, the template changed: updated without asking for the base', async () => {
    const { change, asked } = await one(planned('x.py', A_THEIRS), recorded(A), onDisk(A));
    expect(change.state).toBe('updated');
    expect(change.outcome).toEqual({ content: A_THEIRS, executable: false });
    expect(asked).toEqual([]);
  });

  test('edited by you, the template unchanged: kept as it is, the mode put right', async () => {
    const { change, asked } = await one(planned('x.py', A), recorded(A), onDisk(A_YOURS));
    expect(change.state).toBe('kept');
    expect(change.outcome).toBeUndefined();
    expect(asked).toEqual([]);
    const mode = await one(planned('run.sh', A), recorded(A), onDisk(A_YOURS, false));
    expect(mode.change.state).toBe('kept');
    expect(mode.change.outcome).toEqual({ content: A_YOURS, executable: true });
  });

  test('both changed different lines: merged from the base text asked for this path', async () => {
    const { change, asked } = await one(planned('x.py', A_THEIRS), recorded(A), onDisk(A_YOURS), {
      baseText: A,
    });
    expect(asked).toEqual(['x.py']);
    expect(change.state).toBe('merged');
    expect(change.outcome).toEqual({
      content: 'ONE\ntwo\nthree\nfour\nFIVE\n',
      executable: false,
    });
  });

  test('the base text recorded in .yo-rc.json is used without asking', async () => {
    const { change, asked } = await one(
      planned('x.py', A_THEIRS),
      recorded(A, 'managed', { content: A }),
      onDisk(A_YOURS),
      { baseText: 'something else entirely\n' },
    );
    expect(asked).toEqual([]);
    expect(change.state).toBe('merged');
  });

  test('both changed the same line: a conflict with markers', async () => {
    const yours = 'one\ntwo\nthree\nfour\nfive!\n';
    const { change } = await one(planned('x.py', A_THEIRS), recorded(A), onDisk(yours), {
      baseText: A,
    });
    expect(change.state).toBe('conflict');
    const text = (change.outcome as { content: string }).content;
    expect(text).toContain('<<<<<<< yours\nfive!\n');
    expect(text).toContain('||||||| generator-scdf-task 0.0.9 (last generated)\nfive\n');
    expect(text).toContain('=======\nFIVE\n>>>>>>> t\n');
  });

  test('both changed and the base text cannot be had: every difference a conflict', async () => {
    const { change, asked } = await one(planned('x.py', A_THEIRS), recorded(A), onDisk(A_YOURS));
    expect(asked).toEqual(['x.py']);
    expect(change.state).toBe('conflict');
  });

  test('an unrecorded file of yours is kept; an unrecorded managed file is merged against nothing', async () => {
    const user = await one(planned('u.py', A, 'user'), undefined, onDisk(A_YOURS));
    expect(user.change.state).toBe('kept');
    expect(user.change.outcome).toBeUndefined();
    expect(user.asked).toEqual([]);
    const managed = await one(planned('m.py', A), undefined, onDisk(A_YOURS));
    expect(managed.change.state).toBe('conflict');
    expect(managed.asked).toEqual([]);
  });

  test('a recorded file of yours that both changed is merged like a managed one', async () => {
    const { change, asked } = await one(
      planned('u.py', A_THEIRS, 'user'),
      recorded(A, 'user'),
      onDisk(A_YOURS),
      { baseText: A },
    );
    expect(asked).toEqual(['u.py']);
    expect(change).toMatchObject({
      state: 'merged',
      outcome: { content: 'ONE\ntwo\nthree\nfour\nFIVE\n', executable: false },
    });
  });

  test('without a way to get the base text, the two sides are compared: a conflict where they differ', async () => {
    const [change] = await reconcile({
      plan: [planned('x.py', 'b\n')],
      base: new Map([['x.py', recorded('o\n')]]),
      disk: new Map([['x.py', onDisk('a\n')]]),
      force: false,
      labels: LABELS,
    });
    expect(change?.state).toBe('conflict');
    expect(change?.outcome).toEqual({
      content: '<<<<<<< yours\na\n=======\nb\n>>>>>>> t\n',
      executable: false,
    });
  });

  test('--force overwrites your edits', async () => {
    const { change } = await one(planned('x.py', A_THEIRS), recorded(A), onDisk(A_YOURS), {
      force: true,
    });
    expect(change.state).toBe('overwritten');
    expect(change.outcome).toEqual({ content: A_THEIRS, executable: false });
  });

  test('markers of the last update still in the file: unresolved, unless forced', async () => {
    const marked = `<<<<<<< yours\nx\n||||||| generator-scdf-task 0.0.9\ny\n=======\nz\n>>>>>>> generator-scdf-task 0.1.0\n`;
    const base = recorded(A, 'managed', { conflict: true });
    const { change } = await one(planned('x.py', A_THEIRS), base, onDisk(marked));
    expect(change.state).toBe('unresolved');
    expect(change.outcome).toBeUndefined();
    const forced = await one(planned('x.py', A_THEIRS), base, onDisk(marked), { force: true });
    expect(forced.change.state).toBe('overwritten');
    // Without the record of a conflict, the same text is only an edit.
    const edit = await one(planned('x.py', A), recorded(A), onDisk(marked));
    expect(edit.change.state).toBe('kept');
    // The record of a conflict whose markers are gone: an ordinary edit.
    const resolved = await one(planned('x.py', A), base, onDisk(A_YOURS));
    expect(resolved.change.state).toBe('kept');
  });

  test.each([
    ['<<<<<<< yours'],
    ['||||||| generator-scdf-task 0.0.9'],
    ['>>>>>>> generator-scdf-task 0.1.0'],
  ])('any one marker line (%s) keeps a file unresolved', async (line) => {
    const base = recorded(A, 'managed', { conflict: true });
    const { change } = await one(planned('x.py', A), base, onDisk(`a\n${line}\nb\n`));
    expect(change.state).toBe('unresolved');
  });

  test('a marker not at the start of a line is text', async () => {
    const base = recorded(A, 'managed', { conflict: true });
    const { change } = await one(planned('x.py', A), base, onDisk(`a = " <<<<<<< yours"\n`));
    expect(change.state).toBe('kept');
  });

  test('an owner that changed is reported with the one recorded', async () => {
    const { change } = await one(planned('x.py', A, 'user'), recorded(A, 'managed'), onDisk(A));
    expect(change).toEqual({
      path: 'x.py',
      owner: 'user',
      previousOwner: 'managed',
      disk: onDisk(A),
      state: 'unchanged',
    });
    const same = await one(planned('x.py', A, 'user'), recorded(A, 'user'), onDisk(A));
    expect(same.change).not.toHaveProperty('previousOwner');
  });
});

describe('reconcile: files the templates no longer make', () => {
  test('removed when not edited, orphaned when edited, unresolved with markers; sorted by path', async () => {
    const marked = '<<<<<<< yours\na\n=======\nb\n>>>>>>> generator-scdf-task 0.1.0\n';
    const changes = await reconcile({
      plan: [planned('keep.py', A)],
      base: new Map([
        ['keep.py', recorded(A)],
        ['z-old.py', recorded(A)],
        ['b-edited.py', recorded(A, 'user')],
        ['a-marked.py', recorded(A, 'managed', { conflict: true })],
        ['gone.py', recorded(A)],
      ]),
      disk: new Map([
        ['keep.py', onDisk(A)],
        ['z-old.py', onDisk(A)],
        ['b-edited.py', onDisk(A_YOURS)],
        ['a-marked.py', onDisk(marked)],
      ]),
      force: false,
      labels: LABELS,
    });
    expect(changes.map((c) => [c.path, c.owner, c.state, c.outcome])).toEqual([
      ['keep.py', 'managed', 'unchanged', undefined],
      ['a-marked.py', 'managed', 'unresolved', undefined],
      ['b-edited.py', 'user', 'orphaned', undefined],
      ['z-old.py', 'managed', 'removed', null],
    ]);
    const removed = changes[3];
    expect(removed?.disk).toEqual(onDisk(A));
    expect(removed && writes(removed)).toBe(true);
  });

  test('retired files are reported in path order whatever order the record has', async () => {
    const paths = ['a.py', 'b.py', 'c.py'];
    for (const order of [paths, [...paths].reverse()]) {
      const changes = await reconcile({
        plan: [],
        base: new Map(order.map((p) => [p, recorded(A)])),
        disk: new Map(order.map((p) => [p, onDisk(A)])),
        force: false,
        labels: LABELS,
      });
      expect(changes.map((c) => c.path)).toEqual(paths);
    }
  });

  test('--force removes a retired file with markers only if it is the base; else orphans it', async () => {
    const marked = '<<<<<<< yours\na\n';
    const changes = await reconcile({
      plan: [],
      base: new Map([['old.py', recorded(A, 'managed', { conflict: true })]]),
      disk: new Map([['old.py', onDisk(marked)]]),
      force: true,
      labels: LABELS,
    });
    expect(changes.map((c) => c.state)).toEqual(['orphaned']);
  });
});
