/**
 * scripts/scdf-rest.sh against a stand-in SCDF server: the exact requests (paths, methods, form
 * fields) for Boot 2 and Boot 3 registrations, and the exit codes CI relies on.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { executionJson, FakeScdf, runScript, type Handler } from './fake-scdf.js';
import { renderProject } from './fixture.js';

type Status = 'UNKNOWN' | 'RUNNING' | 'COMPLETE' | 'ERROR';

const TASK = 'python-task';
const IMAGE = 'localhost:5000/python-task:0.1.0';
const ID = 42;
const FORM = 'application/x-www-form-urlencoded';
// The ERROR_MESSAGE a failed launch of the generated task recorded on a real SCDF 2.11.5 server
// (paths as in the image). JSON.stringify sends it with \n and \" escapes, as Jackson does.
const STACK_TRACE = [
  'Traceback (most recent call last):',
  '  File "/app/util/task_lifecycle.py", line 200, in _run_body',
  '    body(context)',
  '  File "/app/python_task.py", line 27, in task',
  '    raise RuntimeError(error_message)',
  'RuntimeError: Simulated failure',
  '',
].join('\n');

interface Scenario {
  readonly bootVersion: '2' | '3';
  /** The Boot version tag 0.1.0 is registered with already; undefined: not registered. */
  readonly registeredBoot?: '2' | '3';
  readonly statuses?: readonly Status[];
  readonly definitionExists?: boolean;
  readonly errorMessage?: string;
  readonly launchBody?: string;
  readonly pretty?: boolean;
}

/** Answers like SCDF 2.11 for one task; anything else gets the fake's 500. */
function scdf(scenario: Scenario): Handler {
  const statuses = scenario.statuses ?? ['UNKNOWN', 'RUNNING', 'COMPLETE'];
  const boot3 = scenario.bootVersion === '3';
  const executionPath = `/tasks/executions/${String(ID)}${boot3 ? '?schemaTarget=boot3' : ''}`;
  return (request, count) => {
    const call = `${request.method} ${request.url}`;
    switch (call) {
      case `GET /apps/task/${TASK}/0.1.0`:
        return scenario.registeredBoot
          ? {
              status: 200,
              body: `{"name":"${TASK}","type":"task","uri":"docker:${IMAGE}","version":"0.1.0","defaultVersion":true,"bootVersion":"${scenario.registeredBoot}","versions":null}`,
            }
          : {
              status: 404,
              body: `{"_embedded":{"errors":[{"message":"Unknown task application: ${TASK}:0.1.0","logref":"NoSuchAppRegistrationException"}]}}`,
            };
      case `POST /apps/task/${TASK}/0.1.0`:
        return { status: 201 };
      case `PUT /apps/task/${TASK}/0.1.0`:
        return { status: 202 };
      case `GET /tasks/definitions/${TASK}`:
        return scenario.definitionExists
          ? { status: 200, body: `{"name":"${TASK}","dslText":"${TASK}","status":"unknown"}` }
          : {
              status: 404,
              body: `[{"logref":"NoSuchTaskDefinitionException","message":"Could not find task definition named ${TASK}"}]`,
            };
      case 'POST /tasks/definitions':
        return { status: 200, body: `{"name":"${TASK}","dslText":"${TASK}"}` };
      case 'POST /tasks/executions':
        // 2.11 refuses Boot 3 apps here (ApiNotSupportedException).
        return boot3
          ? { status: 400, body: '[{"logref":"ApiNotSupportedException","message":"Use /launch"}]' }
          : {
              status: 201,
              body: scenario.launchBody ?? String(ID),
              contentType: 'application/json',
            };
      case 'POST /tasks/executions/launch':
        return {
          status: 201,
          body:
            scenario.launchBody ??
            `{\n  "executionId" : ${String(ID)},\n  "schemaTarget" : "boot3",\n  "_links" : {\n    "self" : {\n      "href" : "http://localhost:9393/tasks/executions/${String(ID)}"\n    }\n  }\n}`,
        };
      case `GET ${executionPath}`: {
        const status = statuses[Math.min(count, statuses.length) - 1] ?? 'UNKNOWN';
        return {
          status: 200,
          body: executionJson(ID, status, {
            schemaTarget: boot3 ? 'boot3' : 'boot2',
            errorMessage: status === 'ERROR' ? (scenario.errorMessage ?? STACK_TRACE) : null,
            pretty: scenario.pretty ?? true,
          }),
        };
      }
      case `DELETE /tasks/definitions/${TASK}?cleanup=true`:
      case `DELETE /apps/task/${TASK}/0.1.0`:
        return { status: 200 };
      default:
        return undefined;
    }
  };
}

let server: FakeScdf;
beforeAll(async () => {
  server = await FakeScdf.start();
});
afterAll(async () => {
  await server.stop();
});

const projects = {
  '2': renderProject({ bootVersion: '2' }),
  '3': renderProject({ bootVersion: '3' }),
};

function run(bootVersion: '2' | '3', args: string[] = [], env: Record<string, string> = {}) {
  const script = path.join(projects[bootVersion].dir, 'scripts/scdf-rest.sh');
  return runScript(script, args, {
    SCDF_URL: server.url,
    SCDF_POLL_INTERVAL: '0.05',
    SCDF_TIMEOUT: '20',
    ...env,
  });
}

describe.each(['2', '3'] as const)('bootVersion %s', (bootVersion) => {
  const boot3 = bootVersion === '3';
  const launchPath = boot3 ? '/tasks/executions/launch' : '/tasks/executions';
  const statusPath = `/tasks/executions/${String(ID)}${boot3 ? '?schemaTarget=boot3' : ''}`;

  test('run: registers, creates, launches and waits; COMPLETE exits 0 with these exact requests', async () => {
    server.respond(scdf({ bootVersion }));
    const result = await run(bootVersion);
    expect(result.stderr).toContain(`execution ${String(ID)} COMPLETE`);
    expect(result.status).toBe(0);
    expect(server.calls).toEqual([
      `GET /apps/task/${TASK}/0.1.0`,
      `POST /apps/task/${TASK}/0.1.0`,
      `PUT /apps/task/${TASK}/0.1.0`,
      `GET /tasks/definitions/${TASK}`,
      'POST /tasks/definitions',
      `POST ${launchPath}`,
      `GET ${statusPath}`,
      `GET ${statusPath}`,
      `GET ${statusPath}`,
    ]);
    const [, register, makeDefault, , define, launch] = server.requests;
    expect(register?.form).toEqual({
      uri: `docker:${IMAGE}`,
      force: 'true',
      ...(boot3 ? { bootVersion: '3' } : {}),
    });
    expect(register?.contentType).toBe(FORM);
    expect(makeDefault?.rawBody).toBe('');
    expect(define?.form).toEqual({ name: TASK, definition: TASK });
    expect(define?.contentType).toBe(FORM);
    expect(launch?.form).toEqual({ name: TASK });
    expect(launch?.contentType).toBe(FORM);
    expect(server.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  test('ERROR exits 1 and prints the exception line of the Python traceback', async () => {
    server.respond(scdf({ bootVersion, statuses: ['RUNNING', 'ERROR'] }));
    const result = await run(bootVersion, ['launch']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `execution ${String(ID)} ended with ERROR (exit code 1): RuntimeError: Simulated failure\n`,
    );
    expect(result.stderr).not.toContain('Traceback');
    expect(result.stderr).not.toContain('line 27');
    expect(server.calls).toEqual([`POST ${launchPath}`, `GET ${statusPath}`, `GET ${statusPath}`]);
  });

  test('a registration of the tag with another Boot version is removed before registering', async () => {
    const other = boot3 ? '2' : '3';
    server.respond(scdf({ bootVersion, registeredBoot: other }));
    const result = await run(bootVersion, ['register']);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(
      `unregistered ${TASK} 0.1.0, registered as Boot ${other}, to register it as Boot ${bootVersion}`,
    );
    expect(server.calls.slice(0, 4)).toEqual([
      `GET /apps/task/${TASK}/0.1.0`,
      `DELETE /apps/task/${TASK}/0.1.0`,
      `POST /apps/task/${TASK}/0.1.0`,
      `PUT /apps/task/${TASK}/0.1.0`,
    ]);
  });

  test('a registration of the tag with the same Boot version is replaced by force only', async () => {
    server.respond(scdf({ bootVersion, registeredBoot: bootVersion }));
    const result = await run(bootVersion, ['register']);
    expect(result.status).toBe(0);
    expect(server.calls.slice(0, 3)).toEqual([
      `GET /apps/task/${TASK}/0.1.0`,
      `POST /apps/task/${TASK}/0.1.0`,
      `PUT /apps/task/${TASK}/0.1.0`,
    ]);
  });

  test('a task that never ends times out with exit code 4, after SCDF_TIMEOUT seconds', async () => {
    server.respond(scdf({ bootVersion, statuses: ['RUNNING'] }));
    const result = await run(bootVersion, ['launch'], { SCDF_TIMEOUT: '1' });
    expect(result.status).toBe(4);
    expect(result.stderr).toContain(`execution ${String(ID)} still RUNNING after 1s`);
    expect(result.seconds).toBeGreaterThanOrEqual(1);
    expect(result.seconds).toBeLessThan(10);
    expect(server.calls.filter((call) => call === `GET ${statusPath}`).length).toBeGreaterThan(2);
  });

  test('arguments and properties reach the launch form unchanged; an existing definition is kept', async () => {
    server.respond(scdf({ bootVersion, definitionExists: true, statuses: ['COMPLETE'] }));
    const env = {
      SCDF_ARGUMENTS: '--error.message=Simulated failure --greeting=a=b&c',
      SCDF_PROPERTIES: `deployer.${TASK}.kubernetes.entryPointStyle=boot,app.${TASK}.x=1 2`,
    };
    const result = await run(bootVersion, [], env);
    expect(result.status).toBe(0);
    expect(server.calls).not.toContain('POST /tasks/definitions');
    const launch = server.requests.find((r) => r.url === launchPath);
    expect(launch?.form).toEqual({
      name: TASK,
      arguments: env.SCDF_ARGUMENTS,
      properties: env.SCDF_PROPERTIES,
    });
  });
});

describe('release: a version by digest, made the default, never launched', () => {
  const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
  const USER = 'ci-user';
  const PASSWORD = 'p@ss:w0rd with space';
  const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

  /** SCDF 2.11 for a task whose definition exists, with any version unregistered. */
  const released: Handler = (request) => {
    if (request.method === 'GET' && request.url.startsWith(`/apps/task/${TASK}/`))
      return { status: 404, body: '[{"logref":"NoSuchAppRegistrationException"}]' };
    if (request.method === 'POST' && request.url.startsWith(`/apps/task/${TASK}/`))
      return { status: 201 };
    if (request.method === 'PUT' && request.url.startsWith(`/apps/task/${TASK}/`))
      return { status: 202 };
    if (request.url === `/tasks/definitions/${TASK}`)
      return { status: 200, body: `{"name":"${TASK}","dslText":"${TASK}"}` };
    return undefined;
  };

  test.each([
    [
      'a digest alone, the version given: registered with it as the tag SCDF needs',
      `localhost:5000/python-task@${DIGEST}`,
      '0.2.0',
      `localhost:5000/python-task:0.2.0@${DIGEST}`,
    ],
    [
      'a tag and a digest: the tag is the version, the digest part of it',
      `localhost:5000/python-task:1.2.3@${DIGEST}`,
      '',
      `localhost:5000/python-task:1.2.3@${DIGEST}`,
    ],
  ])(
    '%s: these exact requests, basic auth on each, no secret printed',
    async (_, image, given, registered) => {
      server.respond(released);
      // SCDF 2.11 lets versions differ only in the version string: the digest is part of it.
      const version = `${given || '1.2.3'}@${DIGEST}`;
      const result = await run('2', ['release'], {
        SCDF_IMAGE: image,
        SCDF_USERNAME: USER,
        SCDF_PASSWORD: PASSWORD,
        ...(given ? { SCDF_APP_VERSION: given } : {}),
      });
      expect(result.stderr).toBe(
        [
          `scdf-rest: registered task app ${TASK} ${version} as docker:${registered} (Boot 2)`,
          `scdf-rest: made ${version} the default version of ${TASK}`,
          `scdf-rest: task definition ${TASK} exists already`,
          '',
        ].join('\n'),
      );
      expect(result.status).toBe(0);
      expect(server.calls).toEqual([
        `GET /apps/task/${TASK}/${version}`,
        `POST /apps/task/${TASK}/${version}`,
        `PUT /apps/task/${TASK}/${version}`,
        `GET /tasks/definitions/${TASK}`,
      ]);
      expect(server.requests[1]?.form).toEqual({ uri: `docker:${registered}`, force: 'true' });
      expect(server.requests.map((r) => r.authorization)).toEqual(server.requests.map(() => BASIC));
      expect(result.stdout).toBe('');
    },
  );

  test.each([
    ['a digest without a tag or SCDF_APP_VERSION', { SCDF_IMAGE: `r/python-task@${DIGEST}` }],
    ['a digest that is not sha256 and 64 hex digits', { SCDF_IMAGE: 'r/python-task:1@sha256:abc' }],
    ['a version with a slash', { SCDF_APP_VERSION: '1.0/../x' }],
    ['a version that cannot be a Docker tag', { SCDF_APP_VERSION: '1.0.0+build.5' }],
    ['a version that is not the tag', { SCDF_APP_VERSION: '0.1.1' }],
    [
      'a token and a user',
      { SCDF_ACCESS_TOKEN: 't', SCDF_USERNAME: USER, SCDF_PASSWORD: PASSWORD },
    ],
    ['a user without a password', { SCDF_USERNAME: USER }],
  ] as [string, Record<string, string>][])('%s exits 2 before any request', async (_, env) => {
    server.respond(released);
    const result = await run('2', ['release'], env);
    expect(result.status).toBe(2);
    expect(server.calls).toEqual([]);
    expect(result.stderr).not.toContain(PASSWORD);
  });
});

describe('failures and usage', () => {
  test('an HTTP error stops at once with exit code 3 and shows the answer', async () => {
    server.respond((request) =>
      request.method === 'POST'
        ? { status: 500, body: '[{"logref":"AppRegistrationException","message":"boom"}]' }
        : { status: 404 },
    );
    const result = await run('2');
    expect(result.status).toBe(3);
    expect(result.stderr).toContain(
      `POST /apps/task/${TASK}/0.1.0: HTTP 500: [{"logref":"AppRegistrationException","message":"boom"}]`,
    );
    expect(server.calls).toEqual([`GET /apps/task/${TASK}/0.1.0`, `POST /apps/task/${TASK}/0.1.0`]);
  });

  test('an unreachable server exits 3', async () => {
    const stopped = await FakeScdf.start();
    const url = stopped.url;
    await stopped.stop();
    const result = await run('2', [], { SCDF_URL: url });
    expect(result.status).toBe(3);
    expect(result.stderr).toContain(`cannot reach ${url}`);
  });

  test('a launch answer without an execution id exits 5', async () => {
    server.respond(scdf({ bootVersion: '2', launchBody: '<html>login</html>' }));
    expect((await run('2', ['launch'])).status).toBe(5);
    server.respond(scdf({ bootVersion: '3', launchBody: '{"schemaTarget":"boot3"}' }));
    expect((await run('3', ['launch'])).status).toBe(5);
  });

  test('a status it does not know exits 5', async () => {
    server.respond((request) =>
      request.url === '/tasks/executions/7'
        ? { status: 200, body: '{"executionId":7}' }
        : undefined,
    );
    const result = await run('2', ['wait', '7']);
    expect(result.status).toBe(5);
  });

  test('wait ID TARGET polls that execution in that schema target', async () => {
    server.respond(scdf({ bootVersion: '3', statuses: ['COMPLETE'] }));
    const result = await run('2', ['wait', String(ID), 'boot3']);
    expect(result.status).toBe(0);
    expect(server.calls).toEqual([`GET /tasks/executions/${String(ID)}?schemaTarget=boot3`]);
  });

  test.each([
    ['a one-line message', 'boom', 'boom'],
    [
      'a Java stack trace: its first line',
      'java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)',
      'java.lang.IllegalStateException: x',
    ],
    [
      'a traceback cut to fit the column: its last line',
      '[...]\n  File "/app/python_task.py", line 27\nValueError: cut\n\n',
      'ValueError: cut',
    ],
    [
      'an escaped backslash before n is no line break',
      'Traceback (most recent call last):\nOSError: C:\\new\n',
      'OSError: C:\\\\new',
    ],
  ])('ERROR shows what failed for %s', async (_, errorMessage, shown) => {
    server.respond(scdf({ bootVersion: '2', statuses: ['ERROR'], errorMessage }));
    const result = await run('2', ['wait', String(ID)]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`ended with ERROR (exit code 1): ${shown}\n`);
  });

  test('compact JSON, and a field name quoted inside a later string value, are read right', async () => {
    // The decoy comes after the real field, so a parser taking the last match would be fooled.
    const body = JSON.stringify({
      executionId: ID,
      exitCode: 1,
      taskExecutionStatus: 'ERROR',
      errorMessage: 'ValueError: bad "taskExecutionStatus":"COMPLETE" and "exitCode": 0',
    });
    expect(body).toContain('\\"taskExecutionStatus\\":\\"COMPLETE\\"');
    server.respond((request) =>
      request.url === `/tasks/executions/${String(ID)}` ? { status: 200, body } : undefined,
    );
    const result = await run('2', ['wait', String(ID)]);
    expect(result.stderr).toContain(
      'ended with ERROR (exit code 1): ValueError: bad \\"taskExecutionStatus',
    );
    expect(result.status).toBe(1);
  });

  test('destroy deletes the definition with cleanup, then the app version', async () => {
    server.respond(scdf({ bootVersion: '2' }));
    const result = await run('2', ['destroy']);
    expect(result.status).toBe(0);
    expect(server.calls).toEqual([
      `DELETE /tasks/definitions/${TASK}?cleanup=true`,
      `DELETE /apps/task/${TASK}/0.1.0`,
    ]);
  });

  test('an access token is sent as a bearer token on every request', async () => {
    server.respond(scdf({ bootVersion: '2', statuses: ['COMPLETE'] }));
    const result = await run('2', [], { SCDF_ACCESS_TOKEN: 'tok-123' });
    expect(result.status).toBe(0);
    expect(server.requests.map((r) => r.authorization)).toEqual(
      server.requests.map(() => 'Bearer tok-123'),
    );
  });

  test.each([
    ['arguments without "=" (SCDF would drop them all)', [], { SCDF_ARGUMENTS: '--verbose' }],
    ['a bad boot version', [], { SCDF_BOOT_VERSION: '4' }],
    ['a bad timeout', [], { SCDF_TIMEOUT: '10m' }],
    ['an image without a tag', [], { SCDF_IMAGE: 'localhost:5000/python-task' }],
    ['an unknown command', ['deploy'], {}],
    ['wait without an id', ['wait'], {}],
  ] as [string, string[], Record<string, string>][])(
    '%s exits 2 before any request',
    async (_, args, env) => {
      server.respond(scdf({ bootVersion: '2' }));
      const result = await run('2', args, env);
      expect(result.status).toBe(2);
      expect(server.calls).toEqual([]);
    },
  );

  test('help prints the usage with the exit codes, and sends nothing', async () => {
    server.respond(scdf({ bootVersion: '2' }));
    const result = await run('2', ['help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: scripts/scdf-rest.sh [COMMAND]');
    expect(result.stdout).toContain(
      '4  timeout: the execution had not ended after SCDF_TIMEOUT seconds',
    );
    expect(result.stdout).not.toMatch(/^#/m);
    expect(server.calls).toEqual([]);
  });
});
