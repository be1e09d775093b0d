#!/usr/bin/env node
/**
 * Whole-process timings, from one interleaved run: Node's own start (`node -e 0`, the floor),
 * create-scdf-task generating, updating and checking a project, the same generation through
 * Yeoman, copier and cookiecutter on an equivalent template built from the generated output,
 * and one `--check` over a fleet of 100 projects. Prints medians and ratios, and the goals.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPeerTemplates } from './peer-templates.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number.parseInt(process.env.BENCH_RUNS ?? '9', 10);
const FLEET_SIZE = 100;
const BIN = path.join(root, 'lib/bin/create-scdf-task.js');
const YEOMAN = path.join(root, 'bench/yeoman-front-end.js');
const VENV = path.join(root, '.tools/bench-venv/bin');
// Pinned peers, from PyPI: the newest releases when these numbers were first taken.
const PEERS = ['copier==9.19.1', 'cookiecutter==2.7.1'];
const TASK = 'bench-task';
const ANSWERS = { taskName: TASK, dockerPrefix: 'localhost:5000' };

const work = mkdtempSync(path.join(os.tmpdir(), 'scdf-bench-'));
const scratch = () => mkdtempSync(path.join(work, 'run-'));

function ensurePeers() {
  if (existsSync(path.join(VENV, 'copier')) && existsSync(path.join(VENV, 'cookiecutter'))) return;
  console.log(`installing ${PEERS.join(', ')} into .tools/bench-venv ...`);
  execFileSync('python3', ['-m', 'venv', path.dirname(VENV)], { stdio: 'inherit' });
  execFileSync(
    path.join(VENV, 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', ...PEERS],
    {
      stdio: 'inherit',
    },
  );
}

function run(command, args, cwd, input) {
  const result = spawnSync(command, args, {
    cwd,
    input: input ?? '',
    encoding: 'utf8',
    env: { ...process.env, HOME: work, NO_COLOR: '1' },
  });
  if (result.status !== 0 && result.status !== 1)
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  return result;
}

/** Every file under `dir` with its mode and bytes, to prove the peers write the same project. */
function tree(dir, rel = '') {
  const out = {};
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    const full = path.join(dir, relPath);
    if (entry.isDirectory()) Object.assign(out, tree(dir, relPath));
    else if (relPath !== '.yo-rc.json')
      out[relPath] = `${(statSync(full).mode & 0o777).toString(8)} ${readFileSync(full, 'utf8')}`;
  }
  return out;
}

ensurePeers();
const reference = scratch();
run(process.execPath, [BIN, TASK, '--defaults'], reference);
const referenceProject = path.join(reference, TASK);
const templates = buildPeerTemplates(referenceProject, path.join(work, 'templates'), ANSWERS);

const fleet = path.join(work, 'fleet');
const fleetList = [];
for (let i = 0; i < FLEET_SIZE; i += 1) {
  const dir = path.join(fleet, `task-${String(i).padStart(3, '0')}`);
  cpSync(referenceProject, dir, { recursive: true });
  fleetList.push(dir);
}

const subjects = [
  { name: 'node -e 0 (floor)', command: process.execPath, args: () => ['-e', '0'] },
  {
    name: 'create-scdf-task: generate',
    command: process.execPath,
    args: () => [BIN, TASK, '--defaults'],
  },
  {
    name: 'create-scdf-task: update',
    command: process.execPath,
    args: () => [BIN],
    cwd: () => referenceProject,
  },
  {
    name: 'create-scdf-task --check',
    command: process.execPath,
    args: () => [BIN, '--check'],
    cwd: () => referenceProject,
  },
  {
    name: `--check of ${FLEET_SIZE} projects`,
    command: process.execPath,
    args: () => [BIN, '--check', '--stdin'],
    cwd: () => fleet,
    input: `${fleetList.join('\n')}\n`,
  },
  {
    name: 'yo scdf-task (Yeoman): generate',
    command: process.execPath,
    args: () => [YEOMAN, TASK, '--defaults'],
  },
  {
    name: 'copier copy',
    command: path.join(VENV, 'copier'),
    args: (cwd) => ['copy', '--quiet', '--defaults', templates.copier, path.join(cwd, TASK)],
  },
  {
    name: 'cookiecutter',
    command: path.join(VENV, 'cookiecutter'),
    args: (cwd) => ['--no-input', '-o', cwd, templates.cookiecutter],
  },
];

// The peers' output must be what the generator wrote, or the comparison would be unfair.
const expected = tree(referenceProject);
for (const subject of subjects.filter(
  (s) => s.name === 'copier copy' || s.name === 'cookiecutter',
)) {
  const cwd = scratch();
  run(subject.command, subject.args(cwd), cwd);
  const got = tree(path.join(cwd, TASK));
  const differs = Object.keys({ ...expected, ...got }).filter((p) => expected[p] !== got[p]);
  if (differs.length > 0)
    throw new Error(`${subject.name} wrote a different project: ${differs.join(', ')}`);
}

function timeOnce(subject) {
  const cwd = subject.cwd ? subject.cwd() : scratch();
  const start = process.hrtime.bigint();
  run(subject.command, subject.args(cwd), cwd, subject.input);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (!subject.cwd) rmSync(cwd, { recursive: true, force: true });
  return elapsed;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// One warm-up each so first-run cache misses do not land on one side only; then interleaved
// rounds, so drift in machine load hits every subject alike.
for (const subject of subjects) timeOnce(subject);
const samples = new Map(subjects.map((s) => [s.name, []]));
for (let i = 0; i < runs; i += 1) {
  for (const subject of subjects) samples.get(subject.name).push(timeOnce(subject));
}
const medians = new Map([...samples].map(([name, values]) => [name, median(values)]));
const floor = medians.get('node -e 0 (floor)');
const cookiecutter = medians.get('cookiecutter');
const copier = medians.get('copier copy');

console.log(
  `${runs} interleaved runs each, whole process, ${os.cpus().length} CPUs, Node ${process.version}`,
);
console.log(
  `${'subject'.padEnd(34)} ${'median'.padStart(8)} ${'min'.padStart(6)} ${'max'.padStart(6)}  ` +
    `${'×node'.padStart(6)} ${'×copier'.padStart(7)} ${'×cookiecutter'.padStart(13)}`,
);
for (const [name, values] of samples) {
  const m = medians.get(name);
  console.log(
    `${name.padEnd(34)} ${`${m.toFixed(0)} ms`.padStart(8)} ${Math.min(...values)
      .toFixed(0)
      .padStart(6)} ` +
      `${Math.max(...values)
        .toFixed(0)
        .padStart(6)}  ${(m / floor).toFixed(2).padStart(6)} ` +
      `${(m / copier).toFixed(2).padStart(7)} ${(m / cookiecutter).toFixed(2).padStart(13)}`,
  );
}

const goals = [];
for (const name of [
  'create-scdf-task: generate',
  'create-scdf-task: update',
  'create-scdf-task --check',
]) {
  const m = medians.get(name);
  goals.push([`${name} ≤ 2× node -e 0`, m / floor <= 2, `${(m / floor).toFixed(2)}×`]);
  goals.push([
    `${name} ≤ 0.5× cookiecutter`,
    m / cookiecutter <= 0.5,
    `${(m / cookiecutter).toFixed(2)}×`,
  ]);
}
const fleetMedian = medians.get(`--check of ${FLEET_SIZE} projects`);
goals.push([
  `--check of ${FLEET_SIZE} projects < 2 s`,
  fleetMedian < 2000,
  `${(fleetMedian / 1000).toFixed(2)} s`,
]);
console.log('\ngoals:');
for (const [goal, met, value] of goals)
  console.log(`  ${met ? 'met   ' : 'MISSED'}  ${goal}: ${value}`);
rmSync(work, { recursive: true, force: true });
