#!/usr/bin/env node
// Mutation testing: mutmut over the generated project's util/ against that project's own tests,
// Stryker over core/ against test/unit/. Not part of `npm test`: a full run takes hours on 2
// cores. Usage:
//   npm run mutation                                   # everything
//   npm run mutation -- --python util/redaction.py     # one generated module (repeatable)
//   npm run mutation -- --ts core/reconcile.ts         # one core module (repeatable)
//   npm run mutation -- --python util/stop.py --tests tests/scdf/test_stop.py -k 'not hard_exit'
//     --tests: the generated project's tests mutmut runs (a path or node id; repeatable; default:
//     all of tests/), -k: pytest's keyword expression over them
// Reports go to .cache/mutation/ (python/<modules>/ and stryker/); survivors are printed with
// their diffs.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.cache/mutation');
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
// Pinned here like the project's other tools: mutmut's verdicts change between releases.
const MUTMUT = PKG.config.mutmut;
const SUPPORTED_PYTHONS = ['3.14', '3.13', '3.12', '3.11'];
// A mutant's wall-time limit is (its tests' time unmutated + the constant) x the multiplier: room
// for tests slowed down by a loaded machine, not for a mutant that makes a wait endless.
const TIMEOUT_MULTIPLIER = 4;
const TIMEOUT_CONSTANT = 5;

function fail(message) {
  console.error(`mutation: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const python = [];
  const ts = [];
  const tests = [];
  let keyword;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--python' || flag === '--ts') {
      if (value === undefined || value.startsWith('--')) fail(`${flag} needs a module path`);
      (flag === '--python' ? python : ts).push(value.replace(/^\.\//, ''));
      i++;
    } else if (flag === '--tests') {
      if (value === undefined || !/^tests\/[^\s]*$/.test(value))
        fail(
          `--tests needs a path or node id under the generated project's tests/, such as tests/scdf/test_stop.py`,
        );
      tests.push(value.replace(/\/$/, ''));
      i++;
    } else if (flag === '-k') {
      if (value === undefined || value.trim() === '') fail('-k needs a pytest keyword expression');
      keyword = value;
      i++;
    } else if (flag === '-h' || flag === '--help') {
      const header = readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n')
        .slice(1, 12);
      console.log(header.map((line) => line.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else {
      fail(`unknown argument ${JSON.stringify(flag)} (use --python util/x.py or --ts core/x.ts)`);
    }
  }
  for (const module of python)
    if (!/^util\/[A-Za-z0-9_]+\.py$/.test(module))
      fail(
        `--python ${JSON.stringify(module)}: must name a module of the generated util/, such as util/redaction.py`,
      );
  for (const module of ts) {
    if (!/^core\/[A-Za-z0-9_-]+\.ts$/.test(module))
      fail(
        `--ts ${JSON.stringify(module)}: must name a module of core/, such as core/reconcile.ts`,
      );
    if (!existsSync(path.join(ROOT, module))) fail(`--ts ${module}: no such file`);
  }
  const all = python.length === 0 && ts.length === 0;
  if ((tests.length > 0 || keyword !== undefined) && !all && python.length === 0)
    fail("--tests and -k choose the generated project's tests: they go with --python");
  return {
    python,
    ts,
    tests,
    keyword,
    runPython: all || python.length > 0,
    runTs: all || ts.length > 0,
  };
}

/** Runs a command with its output shown; a failure stops the run with the command named. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) fail(`${command} could not be run: ${result.error.message}`);
  if (result.status !== 0 && !options.allowFailure)
    fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result;
}

function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) fail(`${command} could not be run: ${result.error.message}`);
  if (result.status !== 0)
    fail(
      `${command} ${args.join(' ')} exited with ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

/**
 * Runs mutmut with its output shown, but its spinner (redrawn with carriage returns hundreds of
 * times a minute) only once a minute, so that logs stay readable.
 */
function quietProgress(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
    let line = '';
    let shown = Date.now();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      for (const char of chunk) {
        if (char === '\n') {
          console.log(line);
          line = '';
        } else if (char === '\r') {
          if (Date.now() - shown > 60_000 && line.trim() !== '') {
            console.log(line);
            shown = Date.now();
          }
          line = '';
        } else line += char;
      }
    });
    child.on('error', (error) => fail(`${command} could not be run: ${error.message}`));
    child.on('close', (code) => {
      if (line !== '') console.log(line);
      resolve(code);
    });
  });
}

/** A CPython the generated project supports: $MUTATION_PYTHON, else the newest found. */
function findPython() {
  const candidates = process.env.MUTATION_PYTHON
    ? [process.env.MUTATION_PYTHON]
    : SUPPORTED_PYTHONS.flatMap((v) => {
        const pyenv = path.join(process.env.PYENV_ROOT ?? `${process.env.HOME}/.pyenv`, 'versions');
        const builds = existsSync(pyenv)
          ? readdirSync(pyenv)
              .filter((name) => name.startsWith(`${v}.`))
              .map((name) => path.join(pyenv, name, 'bin', `python${v}`))
          : [];
        return [...builds, `/usr/local/bin/python${v}`, `/usr/bin/python${v}`];
      });
  for (const candidate of candidates) {
    const result = spawnSync(
      candidate,
      ['-c', 'import sys; print(*sys.version_info[:2], sep=".")'],
      {
        encoding: 'utf8',
      },
    );
    const version = result.stdout?.trim();
    if (result.status === 0 && SUPPORTED_PYTHONS.includes(version))
      return { python: candidate, version };
  }
  fail(`no Python ${SUPPORTED_PYTHONS.join('/')} found (set MUTATION_PYTHON)`);
}

// mutmut's verdicts, and the diff of every mutant that no test killed, as JSON. mutmut has no
// documented API for this; these are the functions its own `results` and `show` commands use.
const MUTMUT_REPORT = `
import json
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files

found = []
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for name, code in data.exit_code_by_key.items():
        status = status_by_exit_code[code]
        diff = get_diff_for_mutant(name, path=data.path) if status in ("survived", "no tests") else None
        found.append({"name": name, "status": status, "diff": diff})
print(json.dumps(found))
`;

/** mutmut's per-module counts from `mutmut results --all true` lines (`name: status`). */
function countByModule(lines) {
  const counts = {};
  for (const line of lines) {
    const match = /^(util\.[A-Za-z0-9_]+)\.[^:]*: (.+)$/.exec(line);
    if (!match) continue;
    const module = `${match[1].replace('.', '/')}.py`;
    const status = match[2].trim();
    counts[module] ??= {};
    counts[module][status] = (counts[module][status] ?? 0) + 1;
  }
  return counts;
}

async function mutatePython(modules, tests, keyword) {
  // One folder per selection, so that runs over different modules can go on side by side.
  const label = modules.length > 0 ? modules.map((m) => path.basename(m, '.py')).join('+') : 'all';
  const work = path.join(OUT, 'python', label);
  const project = path.join(work, 'python-task');
  mkdirSync(work, { recursive: true });
  const { python, version } = findPython();
  // A fresh project from the current templates: mutmut's cache must not outlive a template edit.
  rmSync(project, { recursive: true, force: true });
  run(
    process.execPath,
    [
      path.join(ROOT, 'lib/bin/create-scdf-task.js'),
      'python-task',
      '--defaults',
      '--python-version',
      version,
    ],
    { cwd: work },
  );

  const locks = ['requirements-scdf.txt', 'requirements-scdf-dev.txt']
    .map((file) => readFileSync(path.join(project, file), 'utf8'))
    .join('\n');
  const key = createHash('sha256')
    .update(`${python}\n${MUTMUT}\n${locks}`)
    .digest('hex')
    .slice(0, 16);
  const venv = path.join(OUT, 'python', `venv-${key}`);
  const bin = path.join(venv, 'bin');
  if (!existsSync(path.join(bin, 'mutmut'))) {
    rmSync(venv, { recursive: true, force: true });
    run(python, ['-m', 'venv', venv]);
    const pip = (...args) =>
      run(path.join(bin, 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...args], {
        cwd: project,
      });
    pip('--require-hashes', '--only-binary=:all:', '-r', 'requirements-scdf.txt');
    pip('-r', 'requirements-scdf-dev.txt', `mutmut==${MUTMUT}`);
  }

  const selected =
    modules.length > 0
      ? modules
      : readdirSync(path.join(project, 'util'))
          .filter((name) => name.endsWith('.py') && name !== '__init__.py')
          .map((name) => `util/${name}`);
  for (const module of selected)
    if (!existsSync(path.join(project, module)))
      fail(`--python ${module}: the generated project (defaults) has no such module`);
  for (const test of tests)
    if (!existsSync(path.join(project, test.split('::')[0])))
      fail(`--tests ${test}: the generated project (defaults) has no such file or folder`);
  // A pytest run that names no path in tests/scdf collects only its smoke tests there (its
  // conftest.py): naming the folder gives all of them.
  const selection = [...(tests.length > 0 ? tests : ['tests', 'tests/scdf'])];
  if (keyword !== undefined) selection.push('-k', keyword);
  const copied = readdirSync(project).filter((name) => !['util', 'tests', '.venv'].includes(name));
  const toml = (list) => `[${list.map((item) => JSON.stringify(item)).join(', ')}]`;
  writeFileSync(
    path.join(project, 'pyproject.toml'),
    `${readFileSync(path.join(project, 'pyproject.toml'), 'utf8')}
[tool.mutmut]
source_paths = ["util/"]
only_mutate = ${toml(selected)}
also_copy = ${toml(copied)}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]
pytest_add_cli_args_test_selection = ${toml(selection)}
# A mutant's limit: (its tests' time in the unmutated run + ${TIMEOUT_CONSTANT} s) x ${TIMEOUT_MULTIPLIER} of wall time.
# mutmut's default, x 15, lets a mutant that makes a deadline endless hold a child for minutes.
timeout_multiplier = ${TIMEOUT_MULTIPLIER}
timeout_constant = ${TIMEOUT_CONSTANT}
`,
  );
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, VIRTUAL_ENV: venv };
  const started = Date.now();
  // mutmut first runs the whole suite unmutated, where a timing test of the project can fail on
  // a loaded machine; it keeps what it has done, so a second try resumes instead of starting over.
  let status = 1;
  for (let attempt = 1; attempt <= 2 && status !== 0; attempt++) {
    if (attempt > 1) console.log(`mutation: mutmut run exited with ${status}; trying once more`);
    status = await quietProgress(path.join(bin, 'mutmut'), ['run', '--max-children', '2'], {
      cwd: project,
      env,
    });
  }
  if (status !== 0) fail(`mutmut run exited with ${status}`);
  const seconds = Math.round((Date.now() - started) / 1000);

  // One Python process for every verdict and diff: `mutmut show` per survivor takes seconds each.
  const report = JSON.parse(
    capture(path.join(bin, 'python'), ['-c', MUTMUT_REPORT], { cwd: project, env }),
  );
  const lines = report.map(({ name, status }) => `${name}: ${status}`);
  const survivors = report.filter(({ diff }) => diff !== null).map(({ name }) => name);
  const diffs = report
    .filter(({ diff }) => diff !== null)
    .map(({ name, status, diff }) => `# ${name}: ${status}\n${diff}\n`);
  const counts = countByModule(lines);
  writeFileSync(path.join(work, 'results.txt'), `${lines.join('\n')}\n`);
  writeFileSync(path.join(work, 'survivors.txt'), diffs.join('\n'));
  writeFileSync(
    path.join(work, 'summary.json'),
    `${JSON.stringify({ mutmut: MUTMUT, python: version, seconds, modules: counts }, null, 2)}\n`,
  );
  console.log(`\n=== mutmut ${MUTMUT}: survivors (${survivors.length}) ===\n`);
  console.log(diffs.join('\n'));
  console.log(`=== mutmut summary (${seconds} s; ${path.relative(ROOT, work)}/) ===`);
  for (const module of Object.keys(counts).sort())
    console.log(
      `${module.padEnd(28)} ${Object.entries(counts[module])
        .map(([status, n]) => `${status} ${n}`)
        .join(', ')}`,
    );
  return survivors.length;
}

function mutateTs(modules) {
  const args = ['run', 'stryker.config.mjs'];
  if (modules.length > 0) args.push('--mutate', modules.join(','));
  const started = Date.now();
  run(path.join(ROOT, 'node_modules/.bin/stryker'), args, { cwd: ROOT });
  const report = JSON.parse(readFileSync(path.join(OUT, 'stryker/report.json'), 'utf8'));
  let survivors = 0;
  const modulesCounts = {};
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const counts = {};
    for (const mutant of mutants) counts[mutant.status] = (counts[mutant.status] ?? 0) + 1;
    survivors += (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
    modulesCounts[file] = counts;
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(
    path.join(OUT, 'stryker/summary.json'),
    `${JSON.stringify({ stryker: PKG.devDependencies['@stryker-mutator/core'], seconds, modules: modulesCounts }, null, 2)}\n`,
  );
  console.log(
    `=== Stryker: ${survivors} survivors in ${seconds} s (${path.relative(ROOT, OUT)}/stryker/) ===`,
  );
  return survivors;
}

const request = parseArgs(process.argv.slice(2));
mkdirSync(OUT, { recursive: true });
run('npm', ['run', '--silent', 'build'], { cwd: ROOT });
let survivors = 0;
if (request.runTs) survivors += mutateTs(request.ts);
if (request.runPython)
  survivors += await mutatePython(request.python, request.tests, request.keyword);
// Survivors are a report, not a failure: the README explains the ones that remain.
console.log(`mutation: ${survivors} survivor(s) in all`);
