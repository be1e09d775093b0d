/**
 * The image installs its requirements with `--only-binary=:all:`: the build fails rather than
 * compile anything. This asks PyPI (pip's resolver, --dry-run, no install) whether every pinned
 * requirement of every database has a wheel for each Python version the generator offers, on the
 * platform of the image's base (Debian trixie: glibc 2.41) for linux/amd64 and linux/arm64.
 * Needs network access to PyPI, as `docker build` does.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { DATABASES, PYTHON_VERSIONS } from '../../core/validators.js';
import { tempDir } from '../support/cli.js';
import { parseDockerfile, renderProject } from './fixture.js';

// glibc of the base image's Debian release (trixie). manylinux tags are not expanded downwards
// by pip when --platform is given, so every compatible one is listed.
const GLIBC_MINOR = 41;

function platformArgs(arch: string): string[] {
  const tags = [`manylinux2014_${arch}`];
  for (let minor = GLIBC_MINOR; minor >= 5; minor--)
    tags.push(`manylinux_2_${String(minor)}_${arch}`);
  if (arch === 'x86_64') tags.push('manylinux2010_x86_64', 'manylinux1_x86_64');
  return tags.flatMap((tag) => ['--platform', tag]);
}

const projects = DATABASES.map((database) => renderProject({ database }));
const dockerfile = parseDockerfile(projects[0]?.read('Dockerfile') ?? '');
const pipRun = dockerfile.find((i) => i.keyword === 'RUN' && i.args.startsWith('pip install '));
// The Dockerfile's install options, minus the requirement file (given per case below) and the
// cache switch (irrelevant to what resolves, and the HTTP cache keeps this test quick).
const dockerPipOptions = (pipRun?.args ?? '')
  .split(/\s+/)
  .slice(2)
  .filter((word, i, words) => word !== '--no-cache-dir' && word !== '-r' && words[i - 1] !== '-r');

/** Pinned runtime requirements of the projects for these databases, as one file. */
function requirementsFile(databases: readonly string[]): string {
  const lines = new Set<string>();
  projects
    .filter((project) => databases.includes(project.answers.database))
    .forEach((project) => {
      for (const line of project.read('requirements-scdf.txt').split('\n')) {
        if (line.trim() !== '' && !line.startsWith('#')) lines.add(line.trim());
      }
    });
  const file = path.join(tempDir('scdf-wheels-'), 'requirements.txt');
  writeFileSync(file, [...lines].sort().join('\n') + '\n');
  return file;
}

interface Resolution {
  readonly status: number | null;
  readonly output: string;
}

/** pip's resolver for another Python and platform; nothing is installed. */
function resolve(requirements: string, pythonVersion: string, arch: string): Promise<Resolution> {
  const abi = `cp${pythonVersion.replace('.', '')}`;
  const args = [
    '-m',
    'pip',
    'install',
    '--dry-run',
    '--ignore-installed',
    '--quiet',
    '--disable-pip-version-check',
    '--target',
    tempDir('scdf-wheels-target-'),
    '--python-version',
    pythonVersion,
    '--implementation',
    'cp',
    ...['--abi', abi, '--abi', 'abi3', '--abi', 'none'],
    ...platformArgs(arch),
    ...dockerPipOptions,
    '-r',
    requirements,
  ];
  return new Promise((done, reject) => {
    // Local wheel folders (PIP_FIND_LINKS) are not where the image build looks: PyPI only.
    const child = spawn('python3', args, {
      env: { ...process.env, PIP_FIND_LINKS: '', PIP_NO_INDEX: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      done({ status, output });
    });
  });
}

const WITHOUT_DB2 = DATABASES.filter((database) => database !== 'db2');
// arm64 builds (Apple silicon, Graviton) are checked on the default Python only: resolving is
// CPU-bound and slow, and the wheel sets do not differ by Python version there.
const ARM_VERSION = '3.14';

describe('wheels for the image build', () => {
  test('the Dockerfile installs wheels only', () => {
    expect(dockerPipOptions).toEqual(['--only-binary=:all:']);
  });

  // One resolution per case covers every database: the pins are exact, so if their union
  // resolves, each project's subset does.
  test.each(PYTHON_VERSIONS)(
    'Python %s on linux/amd64: the requirements of every database resolve to wheels',
    async (version) => {
      const result = await resolve(requirementsFile(DATABASES), version, 'x86_64');
      expect(result).toEqual({ status: 0, output: '' });
    },
    180_000,
  );

  test(`Python ${ARM_VERSION} on linux/arm64: every database but Db2 resolves to wheels`, async () => {
    const result = await resolve(requirementsFile(WITHOUT_DB2), ARM_VERSION, 'aarch64');
    expect(result).toEqual({ status: 0, output: '' });
  }, 180_000);

  test('Db2 (ibm_db) has Linux wheels for x86_64 only: Db2 images are linux/amd64', async () => {
    const result = await resolve(requirementsFile(['db2']), ARM_VERSION, 'aarch64');
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/No matching distribution found for ibm_db==/);
  }, 180_000);
});
