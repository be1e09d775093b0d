#!/usr/bin/env node
/**
 * How much the generator's own work costs next to starting Yeoman: times a full non-interactive
 * generation through create-scdf-task and a one-file generator started the same way, each as the
 * median of fresh processes, and prints both and their ratio (the aim is under 1.2).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number.parseInt(process.env.BENCH_RUNS ?? '9', 10);

const subjects = [
  {
    name: 'create-scdf-task --defaults',
    args: [path.join(root, 'lib/bin/create-scdf-task.js'), 'bench-task', '--defaults'],
  },
  { name: 'one-file generator (floor)', args: [path.join(root, 'bench/floor/bin.js')] },
];

function timeOnce(args) {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'scdf-bench-'));
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd, stdio: 'ignore' });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  rmSync(cwd, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
  return elapsed;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// One warm-up each so the first run's disk cache misses do not land on one side only.
for (const subject of subjects) timeOnce(subject.args);
const medians = {};
// Interleaved, so drift in machine load hits both sides alike.
const samples = Object.fromEntries(subjects.map((s) => [s.name, []]));
for (let i = 0; i < runs; i += 1) {
  for (const subject of subjects) samples[subject.name].push(timeOnce(subject.args));
}
for (const subject of subjects) {
  medians[subject.name] = median(samples[subject.name]);
  const min = Math.min(...samples[subject.name]);
  const max = Math.max(...samples[subject.name]);
  console.log(
    `${subject.name.padEnd(30)} median ${medians[subject.name].toFixed(0).padStart(6)} ms ` +
      `(min ${min.toFixed(0)}, max ${max.toFixed(0)}, ${runs} runs)`,
  );
}
const [full, floor] = subjects.map((s) => medians[s.name]);
console.log(`ratio full/floor: ${(full / floor).toFixed(2)} (aim: under 1.20)`);
