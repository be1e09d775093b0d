import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Plain JS: Jest loads global setup outside its module mapper, so it cannot import the .ts helpers.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Tests drive the compiled bin, so compile once before they start. */
export default function globalSetup() {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
}
