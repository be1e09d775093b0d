import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The compiled bin; jest's global setup builds it before any test runs. */
export const BIN = path.join(REPO_ROOT, 'lib/bin/create-scdf-task.js');
/** Tools the test set-up installs (hadolint, the contract harness's Python). */
export const TOOLS_BIN = path.join(REPO_ROOT, '.tools/venv/bin');
