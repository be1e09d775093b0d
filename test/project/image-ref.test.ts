/**
 * One image reference, `<docker-prefix>/<task-name>:<image-tag>`, everywhere it appears: the
 * Dockerfile's labels and build comment, register.shell, the REST script (also as it registers),
 * and the README, for prefixes with and without a registry, with a port, and with namespaces.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Answers } from '../../core/inputs.js';
import { FakeScdf, runScript } from './fake-scdf.js';
import { keyValues, parseDockerfile, renderProject } from './fixture.js';

const CASES: Pick<Answers, 'dockerPrefix' | 'taskName' | 'imageTag'>[] = [
  {
    dockerPrefix: 'registry.example.com:5000/team/batch',
    taskName: 'python-task',
    imageTag: '0.1.0',
  },
  { dockerPrefix: 'localhost:5000', taskName: 'etl', imageTag: '2026.01.15-rc_1' },
  { dockerPrefix: 'springcloud', taskName: 'nightly-report-v2', imageTag: 'latest' },
  { dockerPrefix: 'ghcr.io/acme', taskName: 'python-task', imageTag: '1.0' },
];

const FILES = ['Dockerfile', 'scdf/register.shell', 'scripts/scdf-rest.sh', 'README.md'];

// What may stand right before an image reference: a separator (`[` as in "default [ref]"),
// `docker:` (SCDF URIs) or `:-` (a shell default). Anything else would mean a different
// reference that merely ends like ours.
const ALLOWED_BEFORE = /(^|[\s"`(=[]|docker:|:-)$/;

let server: FakeScdf;
beforeAll(async () => {
  server = await FakeScdf.start();
});
afterAll(async () => {
  await server.stop();
});

describe.each(CASES)('$dockerPrefix / $taskName : $imageTag', (given) => {
  const project = renderProject({ ...given, bootVersion: '3' });
  const ref = `${given.dockerPrefix}/${given.taskName}:${given.imageTag}`;

  test.each(FILES)('%s names the image only as the full reference', (file) => {
    const text = project.read(file);
    const needle = `/${given.taskName}:`;
    const positions: number[] = [];
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
      positions.push(at);
    }
    expect(positions.length).toBeGreaterThan(0);
    for (const at of positions) {
      const start = at - given.dockerPrefix.length;
      const found = text.slice(Math.max(0, start), at + needle.length + given.imageTag.length + 1);
      // The prefix before, the tag after (and nothing more of a tag), a separator before that.
      expect(found).toBe(`${ref}${text.charAt(at + needle.length + given.imageTag.length)}`);
      expect(text.charAt(at + needle.length + given.imageTag.length)).toMatch(/^$|[^\w.-]/);
      expect(text.slice(Math.max(0, start - 8), start)).toMatch(ALLOWED_BEFORE);
    }
  });

  test('the places that must carry it do', () => {
    const dockerfile = project.read('Dockerfile');
    expect(keyValues(parseDockerfile(dockerfile), 'LABEL').get('scdf-task.image-ref')).toBe(ref);
    expect(dockerfile).toContain(`#   docker build -t ${ref} .\n`);
    expect(project.read('scdf/register.shell')).toContain(
      `app register --name ${given.taskName} --type task --uri docker:${ref} --bootVersion 3 --force\n`,
    );
    expect(project.read('scripts/scdf-rest.sh')).toContain(
      `readonly IMAGE="\${SCDF_IMAGE:-${ref}}"\n`,
    );
    const readme = project.read('README.md');
    expect(readme).toContain(`docker build -t ${ref} .\n`);
    expect(readme).toContain(`docker push ${ref}\n`);
  });

  test('the REST script registers exactly docker:<ref> and makes its tag the default version', async () => {
    server.respond((request) => {
      if (request.method === 'GET') return { status: 200, body: '{}' };
      return { status: request.method === 'PUT' ? 202 : 201 };
    });
    const result = await runScript(path.join(project.dir, 'scripts/scdf-rest.sh'), ['register'], {
      SCDF_URL: server.url,
    });
    expect(result.stderr).toContain(
      `registered task app ${given.taskName} ${given.imageTag} as docker:${ref}`,
    );
    expect(result.status).toBe(0);
    expect(server.calls).toEqual([
      `GET /apps/task/${given.taskName}/${given.imageTag}`,
      `POST /apps/task/${given.taskName}/${given.imageTag}`,
      `PUT /apps/task/${given.taskName}/${given.imageTag}`,
      `GET /tasks/definitions/${given.taskName}`,
    ]);
    expect(server.requests[1]?.form).toEqual({
      uri: `docker:${ref}`,
      force: 'true',
      bootVersion: '3',
    });
  });
});
