/**
 * A stand-in for the Data Flow server's REST API, for testing scripts/scdf-rest.sh: it records
 * every request and answers the way SCDF 2.11 does (shapes from SCDF's REST docs tests,
 * TaskExecutionsDocumentation and the controllers). Listens on 127.0.0.1, on a random port.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  /** Path with query string, as sent. */
  readonly url: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  /** Form fields of a form-encoded body, in order. */
  readonly form: Record<string, string>;
  readonly rawBody: string;
}

export interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly contentType?: string;
}

export type Handler = (request: RecordedRequest, count: number) => Reply | undefined;

/** A TaskExecutionResource as `GET /tasks/executions/{id}` returns it (pretty-printed, HAL). */
export function executionJson(
  id: number,
  status: 'UNKNOWN' | 'RUNNING' | 'COMPLETE' | 'ERROR',
  options: { schemaTarget?: string; errorMessage?: string | null; pretty?: boolean } = {},
): string {
  const ended = status === 'COMPLETE' || status === 'ERROR';
  const resource = {
    executionId: id,
    exitCode: ended ? (status === 'COMPLETE' ? 0 : 1) : null,
    taskName: 'python-task',
    startTime: status === 'UNKNOWN' ? null : '2026-01-02T03:04:05.000+00:00',
    endTime: ended ? '2026-01-02T03:04:09.000+00:00' : null,
    exitMessage: null,
    arguments: ['--spring.cloud.task.executionid=' + String(id)],
    jobExecutionIds: [],
    errorMessage: options.errorMessage ?? null,
    externalExecutionId: 'python-task-abc12',
    parentExecutionId: null,
    resourceUrl: 'Docker Resource [docker:localhost:5000/python-task:0.1.0]',
    appProperties: { 'spring.cloud.task.name': 'python-task' },
    deploymentProperties: {},
    platformName: 'default',
    taskExecutionStatus: status,
    schemaTarget: options.schemaTarget ?? 'boot2',
    _links: { self: { href: `http://localhost:9393/tasks/executions/${String(id)}` } },
  };
  return options.pretty === false ? JSON.stringify(resource) : JSON.stringify(resource, null, 2);
}

export class FakeScdf {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private handler: Handler = () => undefined;

  private constructor() {
    this.server = createServer((req, res) => {
      this.handle(req, res);
    });
  }

  static async start(): Promise<FakeScdf> {
    const fake = new FakeScdf();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${String(port)}`;
  }

  /** Replaces the answers; requests the handler leaves unanswered get 500. */
  respond(handler: Handler): void {
    this.handler = handler;
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  /** `METHOD url` of every request, in order. */
  get calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.url}`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'];
      const form: Record<string, string> = {};
      if (contentType?.startsWith('application/x-www-form-urlencoded')) {
        for (const [key, value] of new URLSearchParams(rawBody)) form[key] = value;
      }
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentType,
        authorization: req.headers.authorization,
        form,
        rawBody,
      };
      this.requests.push(recorded);
      const same = this.requests.filter(
        (r) => r.method === recorded.method && r.url === recorded.url,
      );
      const reply = this.handler(recorded, same.length) ?? {
        status: 500,
        body: '[{"logref":"FakeScdf","message":"no answer configured"}]',
      };
      res.writeHead(reply.status, { 'Content-Type': reply.contentType ?? 'application/hal+json' });
      res.end(reply.body ?? '');
    });
  }
}

export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/**
 * Runs a script with bash and only the environment given (plus PATH), asynchronously: the fake
 * server answers from this same process, so a synchronous spawn would dead-lock.
 */
export function runScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ScriptRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      resolve({ status, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
  });
}
