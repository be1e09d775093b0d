import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A CPython interpreter of `version` (`3.12`) on this machine, or undefined: the newest pyenv
 * build of it, else the system's `python3.12`. pyenv's shims are not used: they only run the
 * versions selected as global.
 */
export function findPython(version: string): string | undefined {
  const pyenvRoot = process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv');
  const versions = path.join(pyenvRoot, 'versions');
  const builds = existsSync(versions)
    ? readdirSync(versions)
        .filter((name) => name.startsWith(`${version}.`) && /^\d+\.\d+\.\d+$/.test(name))
        .sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))
        .map((name) => path.join(versions, name, 'bin', `python${version}`))
    : [];
  const candidates = [...builds, `/usr/local/bin/python${version}`, `/usr/bin/python${version}`];
  return candidates.find((candidate) => {
    if (!existsSync(candidate)) return false;
    const result = spawnSync(
      candidate,
      ['-c', 'import sys; print(*sys.version_info[:2], sep=".")'],
      {
        encoding: 'utf8',
      },
    );
    return result.status === 0 && result.stdout.trim() === version;
  });
}

/**
 * pip options that make it pick wheels for another Python version on the image's platform
 * (Debian trixie, glibc 2.41). pip does not expand manylinux tags downwards when --platform is
 * given, so every compatible one is listed.
 */
export function targetOptions(pythonVersion: string, arch: 'x86_64' | 'aarch64'): string[] {
  const glibcMinor = 41;
  const tags = [`manylinux2014_${arch}`];
  for (let minor = glibcMinor; minor >= 5; minor--)
    tags.push(`manylinux_2_${String(minor)}_${arch}`);
  if (arch === 'x86_64') tags.push('manylinux2010_x86_64', 'manylinux1_x86_64');
  const abi = `cp${pythonVersion.replace('.', '')}`;
  return [
    '--python-version',
    pythonVersion,
    '--implementation',
    'cp',
    ...['--abi', abi, '--abi', 'abi3', '--abi', 'none'],
    ...tags.flatMap((tag) => ['--platform', tag]),
  ];
}

/**
 * The interpreter to run pip with for a Python version that may not be installed: that version,
 * else the newest of `versions` that is. pip picks wheels by --python-version but evaluates
 * environment markers (`typing-extensions; python_version < "3.13"`) with the interpreter that
 * runs it, so the closest one keeps those the same.
 */
export function pythonFor(version: string, versions: readonly string[]): string {
  const newestFirst = [...versions].sort(
    (a, b) => Number(b.split('.')[1]) - Number(a.split('.')[1]),
  );
  const found = [version, ...newestFirst].map(findPython).find((python) => python !== undefined);
  if (!found) throw new Error(`no Python of ${versions.join(', ')} on this machine`);
  return found;
}
