import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { InputError } from './errors.js';

/** One file to write (content and mode) or, with `content: null`, to delete. */
export interface Operation {
  readonly path: string;
  readonly content: string | null;
  readonly executable?: boolean;
}

type Done =
  | { readonly kind: 'mkdir'; readonly full: string }
  | { readonly kind: 'placed'; readonly full: string; readonly backup?: string }
  | { readonly kind: 'deleted'; readonly full: string; readonly backup: string };

function describe(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  return err.code ? `${err.code}: ${err.message.replace(/^\w+: /, '')}` : err.message;
}

/**
 * All or nothing: every new file is first written in full to a staging folder inside the project
 * (same file system, so each move is an atomic rename); then each one replaces its target, the
 * old file set aside. If any step fails, everything done is undone in reverse order, and the
 * error names the file and the cause. The paths were confined by the caller.
 */
export function applyAll(root: string, operations: readonly Operation[]): void {
  if (operations.length === 0) return;
  const newRoot = !existsSync(root);
  mkdirSync(root, { recursive: true });
  const stage = mkdtempSync(path.join(root, '.scdf-task-update-'));
  const done: Done[] = [];
  let current = '';
  try {
    const staged = operations.map((operation, index) => {
      current = operation.path;
      if (operation.content === null) return undefined;
      const file = path.join(stage, `new-${index}`);
      writeFileSync(file, operation.content);
      chmodSync(file, operation.executable ? 0o755 : 0o644);
      return file;
    });
    for (const [index, operation] of operations.entries()) {
      current = operation.path;
      const full = path.join(root, operation.path);
      const backup = existsSync(full) ? path.join(stage, `old-${index}`) : undefined;
      if (operation.content === null) {
        if (!backup) continue;
        renameSync(full, backup);
        done.push({ kind: 'deleted', full, backup });
        continue;
      }
      for (let dir = path.dirname(full), missing: string[] = []; ; dir = path.dirname(dir)) {
        if (dir === root || existsSync(dir)) {
          for (const folder of missing.reverse()) {
            mkdirSync(folder);
            done.push({ kind: 'mkdir', full: folder });
          }
          break;
        }
        missing.push(dir);
      }
      if (backup) renameSync(full, backup);
      try {
        renameSync(staged[index] ?? '', full);
      } catch (error) {
        if (backup) renameSync(backup, full);
        throw error;
      }
      done.push({ kind: 'placed', full, ...(backup ? { backup } : {}) });
    }
  } catch (error) {
    rollBack(done);
    rmSync(newRoot ? root : stage, { recursive: true, force: true });
    throw new InputError(
      `could not write ${current}: ${describe(error)}; the project was left exactly as it was`,
    );
  }
  rmSync(stage, { recursive: true, force: true });
}

function rollBack(done: readonly Done[]): void {
  for (const step of [...done].reverse()) {
    if (step.kind === 'mkdir') rmdirSync(step.full);
    else if (step.kind === 'deleted') renameSync(step.backup, step.full);
    else if (step.backup) renameSync(step.backup, step.full);
    else rmSync(step.full);
  }
}
