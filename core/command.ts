import { readFileSync } from 'node:fs';
import { EXIT, InputError, worstExitCode, type ExitCode } from './errors.js';
import { describeFailure, reportFailure } from './failure.js';
import type { AnswerKey } from './inputs.js';
import type { Asker } from './questions.js';
import { suppliedBase } from './released-templates.js';
import { runProject, type RunRequest } from './run.js';

/**
 * One command as a user typed it, whichever front end read it: `create-scdf-task` from its argv,
 * the Yeoman generator from the options Yeoman hands it. Everything from here on (one project or
 * many, the summary line, the exit code, how a failure is printed) is the same for both.
 */
export interface Command {
  /** Where the user ran the command. */
  readonly cwd: string;
  /** Arguments that are not options: a task name, or project folders with --check/--update. */
  readonly positionals: readonly string[];
  /** Values of the input options (`--database` → `database`), as given. */
  readonly options: Readonly<Partial<Record<AnswerKey, unknown>>>;
  readonly defaults: boolean;
  readonly check: boolean;
  readonly update: boolean;
  readonly force: boolean;
  readonly stdin: boolean;
  readonly debug: boolean;
  /** `--base` as given: read once, before any project, and shared by all of them. */
  readonly base?: string;
}

/** What a front end lends the core: its name in messages and its way of asking. */
export interface FrontEnd {
  /** Prefix of error lines. */
  readonly program: string;
  readonly asker: Asker;
}

function readFolderList(): string[] {
  return readFileSync(0, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

async function runMany(
  base: RunRequest,
  folders: readonly string[],
  frontEnd: FrontEnd,
  debug: boolean,
): Promise<ExitCode> {
  const codes: ExitCode[] = [];
  for (const folder of folders) {
    try {
      // Many projects in one run are for CI: a missing answer is an error, never a prompt.
      const outcome = await runProject(
        { ...base, project: folder },
        { ...frontEnd.asker, canAsk: false },
      );
      process.stdout.write(`${outcome.line}\n`);
      codes.push(outcome.exitCode);
    } catch (error) {
      if (debug) reportFailure(frontEnd.program, error, true);
      process.stdout.write(`${folder}: error: ${describeFailure(error).message}\n`);
      codes.push(EXIT.error);
    }
  }
  const count = (code: ExitCode) => codes.filter((c) => c === code).length;
  const worst = worstExitCode(codes);
  process.stdout.write(
    `${folders.length} projects: ${count(EXIT.ok)} ${base.check ? 'up to date' : 'done'}, ` +
      (base.check ? `${count(EXIT.drift)} would change, ` : '') +
      `${count(EXIT.conflict)} with conflicts, ${count(EXIT.error)} failed; exit ${worst}\n`,
  );
  return worst;
}

async function dispatch(command: Command, frontEnd: FrontEnd): Promise<ExitCode> {
  const { positionals, options } = command;
  const request: RunRequest = {
    cwd: command.cwd,
    options,
    defaults: command.defaults,
    check: command.check,
    update: command.update,
    force: command.force,
    ...(command.base === undefined ? {} : { base: await suppliedBase(command.base, command.cwd) }),
  };
  if (command.check || command.update) {
    const fromStdin = command.stdin || positionals.includes('-');
    const folders = [
      ...positionals.filter((p) => p !== '-'),
      ...(fromStdin ? readFolderList() : []),
    ];
    if (folders.length > 1 || fromStdin) {
      if (options.taskName !== undefined)
        throw new InputError('--task-name cannot be given for many projects at once');
      return runMany(request, folders, frontEnd, command.debug);
    }
    const [folder] = folders;
    const outcome = await runProject(
      folder === undefined ? request : { ...request, project: folder },
      frontEnd.asker,
    );
    process.stdout.write(`${outcome.report}\n`);
    return outcome.exitCode;
  }
  if (command.stdin) throw new InputError('--stdin reads project folders for --check or --update');
  if (positionals.length > 1)
    throw new InputError(`expected at most one task name, got: ${positionals.join(' ')}`);
  const [name] = positionals;
  const outcome = await runProject(
    name === undefined ? request : { ...request, positionalName: name },
    frontEnd.asker,
  );
  process.stdout.write(`${outcome.report}\n`);
  return outcome.exitCode;
}

/**
 * Runs one command to its end: prints the report, or the failure as one line (with its stack
 * under --debug), and returns the exit code; never throws.
 */
export async function runCommand(command: Command, frontEnd: FrontEnd): Promise<ExitCode> {
  try {
    return await dispatch(command, frontEnd);
  } catch (error) {
    return reportFailure(frontEnd.program, error, command.debug);
  }
}
