import { describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { planProject } from '../../core/project-files.js';
import { DATABASES, type Database } from '../../core/validators.js';
import { FRONT_ENDS, generateProject, readTree, runFrontEnd } from '../support/cli.js';

// Every project's utilities: the database-neutral ones and SQLite's (local runs and tests).
const SHARED_UTIL = [
  'util/__init__.py',
  'util/batch_job.py',
  'util/batch_parameters.py',
  'util/batch_records.py',
  'util/batch_restart.py',
  'util/bounded_write.py',
  'util/column_text.py',
  'util/database.py',
  'util/db_adapter.py',
  'util/db_api.py',
  'util/db_sqlite.py',
  'util/execution_creation.py',
  'util/execution_ids.py',
  'util/exit_codes.py',
  'util/java_context.py',
  'util/jdbc_syntax.py',
  'util/jdbc_url.py',
  'util/jdbc_vendor.py',
  'util/launch.py',
  'util/local_db.py',
  'util/local_run.py',
  'util/records.py',
  'util/redaction.py',
  'util/single_instance.py',
  'util/stop.py',
  'util/task_args.py',
  'util/task_context.py',
  'util/task_lifecycle.py',
  'util/task_status.py',
  'util/testing.py',
];

// What only the chosen database gets: the driver its adapter imports and the JDBC URL kinds
// its parser takes (written by hand from the templates' own headers, not read from them).
const ONLY_FOR: Readonly<Record<Database, { driver: string; kinds: string }>> = {
  mysql: { driver: 'import pymysql', kinds: '{"mysql": mysql, "mariadb": mysql}' },
  mariadb: { driver: 'import pymysql', kinds: '{"mysql": mysql, "mariadb": mysql}' },
  postgresql: { driver: 'import psycopg', kinds: '{"postgresql": postgresql}' },
  sqlserver: { driver: 'import pymssql', kinds: '{"sqlserver": sqlserver}' },
  oracle: { driver: 'import oracledb', kinds: '{"oracle": oracle}' },
  db2: { driver: 'import ibm_db_dbi', kinds: '{"db2": db2}' },
};
const DRIVER_IMPORTS = ['pymysql', 'psycopg', 'pymssql', 'oracledb', 'ibm_db_dbi'];

function contentOf(database: Database, file: string): string {
  const found = planProject(withDefaults({ database })).find((f) => f.path === file);
  if (!found) throw new Error(`${file} not generated for ${database}`);
  return found.content;
}

describe.each(DATABASES)('a %s project', (database) => {
  const plan = planProject(withDefaults({ database }));
  const paths = plan.map((f) => f.path);

  test('has exactly the shared utilities, one adapter and one JDBC parser, under fixed names', () => {
    expect(paths.filter((p) => p.startsWith('util/')).sort()).toEqual(SHARED_UTIL);
    expect(paths.filter((p) => /^tests\/scdf\/test_(db_|jdbc_vendor)/.test(p))).toEqual([
      'tests/scdf/test_db_adapter.py',
      'tests/scdf/test_jdbc_vendor.py',
    ]);
    expect(paths.some((p) => p.includes('['))).toBe(false);
    expect(new Set(paths).size).toBe(paths.length);
  });

  test("the adapter imports this database's driver and no other; the parser takes only its URLs", () => {
    const adapter = contentOf(database, 'util/db_adapter.py');
    const { driver, kinds } = ONLY_FOR[database];
    // A driver without type stubs is imported with a `# type: ignore[...]` for mypy --strict.
    expect(adapter).toMatch(new RegExp(`^${driver}(  # type: ignore\\[[\\w-]+\\])?$`, 'm'));
    const imported = DRIVER_IMPORTS.filter((m) =>
      new RegExp(`^import ${m}(  # type: ignore\\[[\\w-]+\\])?$`, 'm').test(adapter),
    );
    expect(imported).toEqual([driver.replace('import ', '')]);
    expect(contentOf(database, 'util/jdbc_vendor.py')).toContain(
      `PARSERS: dict[str, Callable[[str, str], UrlParts]] = ${kinds}\n`,
    );
  });

  test('no utility imports SQLAlchemy at module level; sqlalchemy_url() does, when called', () => {
    const importing = plan
      .filter((f) => f.path.startsWith('util/'))
      .filter((f) => /^(from sqlalchemy|import sqlalchemy)/m.test(f.content))
      .map((f) => f.path);
    expect(importing).toEqual([]);
    expect(contentOf(database, 'util/jdbc_url.py')).toMatch(
      /def sqlalchemy_url\([^)]*\)[^:]*:\n(?:.*\n)*? {8}from sqlalchemy\.engine import URL\n/,
    );
    expect(contentOf(database, 'requirements-scdf.txt')).not.toMatch(/sqlalchemy|ibm_db_sa/i);
  });

  test('docs/files.md lists each generated file once, and no template of another database', () => {
    const readme = contentOf(database, 'docs/files.md');
    for (const file of [
      'util/db_adapter.py',
      'util/jdbc_vendor.py',
      'tests/scdf/test_db_adapter.py',
    ]) {
      expect(readme.split(`\n| \`${file}\` |`).length - 1).toBe(1);
    }
    expect(readme).not.toMatch(/db_adapter\[|jdbc_vendor\[|db_drivers\.py|jdbc_vendors\.py/);
  });
});

describe.each(FRONT_ENDS)('%s front end: switching --database on update', (frontEnd) => {
  test('swaps the adapter, the parser and their tests by the normal three-way update', () => {
    const project = generateProject('orders-etl', ['--database', 'postgresql']);
    // An edit elsewhere in a managed file is kept; the adapter itself is replaced.
    const helper = path.join(project, 'util/task_status.py');
    writeFileSync(helper, `${readTree(project)['util/task_status.py']}# local note\n`);

    const result = runFrontEnd(frontEnd, ['--database', 'mariadb'], project);

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const after = readTree(project);
    for (const file of [
      'util/db_adapter.py',
      'util/jdbc_vendor.py',
      'tests/scdf/test_db_adapter.py',
      'tests/scdf/test_jdbc_vendor.py',
    ]) {
      expect(after[file]).toBe(contentOf('mariadb', file));
      expect(after[file]).not.toBe(contentOf('postgresql', file));
    }
    expect(after['util/db_adapter.py']).toMatch(/^import pymysql\b/m);
    expect(after['util/db_adapter.py']).not.toContain('psycopg');
    expect(after['util/task_status.py']).toBe(
      `${contentOf('mariadb', 'util/task_status.py')}# local note\n`,
    );
    expect(
      Object.keys(after)
        .filter((p) => p.startsWith('util/') && p.endsWith('.py'))
        .sort(),
    ).toEqual(SHARED_UTIL);
  });
});
