import type { Database } from './validators.js';

/** What a generated project needs to reach one kind of SCDF database from Python. */
export interface DatabaseProfile {
  /** Human name, for the README and messages. */
  readonly label: string;
  /** Pinned pip requirements: the driver, which installs as a wheel. */
  readonly requirements: readonly string[];
  /** SQLAlchemy `drivername` that `sqlalchemy_url()` gives URLs of this database. */
  readonly sqlalchemyDriver: string;
  /** Module that must import for the driver to work. */
  readonly driverModule: string;
  /** A JDBC URL of the shape SCDF hands out, used in examples and the driver test. */
  readonly exampleJdbcUrl: string;
}

// Every driver here ships manylinux wheels for CPython 3.11-3.14 on x86_64 (all but ibm_db on
// arm64 too; ibm_db needs glibc 2.34+), so images need no compiler and no system client
// library; see README "Dependencies" for the ones left out and why.
// PyMySQL imports `cryptography` at start whenever it is installed (about 45 ms of every launch).
// Only MySQL needs it: MySQL 8's default auth, caching_sha2_password, sends the password
// RSA-encrypted over a plain connection. MariaDB's auth plugins (mysql_native_password,
// ed25519) use no RSA, so MariaDB projects get the driver alone.
const PYMYSQL_VERSION = '1.2.4';

export const DATABASE_PROFILES: Readonly<Record<Database, DatabaseProfile>> = {
  mysql: {
    label: 'MySQL',
    requirements: [`PyMySQL[rsa]==${PYMYSQL_VERSION}`],
    sqlalchemyDriver: 'mysql+pymysql',
    driverModule: 'pymysql',
    exampleJdbcUrl: 'jdbc:mysql://mysql:3306/dataflow?permitMysqlScheme',
  },
  mariadb: {
    label: 'MariaDB',
    requirements: [`PyMySQL==${PYMYSQL_VERSION}`],
    sqlalchemyDriver: 'mysql+pymysql',
    driverModule: 'pymysql',
    exampleJdbcUrl: 'jdbc:mariadb://mariadb:3306/dataflow',
  },
  postgresql: {
    label: 'PostgreSQL',
    requirements: ['psycopg[binary]==3.3.9'],
    sqlalchemyDriver: 'postgresql+psycopg',
    driverModule: 'psycopg',
    exampleJdbcUrl: 'jdbc:postgresql://postgresql:5432/dataflow',
  },
  sqlserver: {
    label: 'SQL Server',
    requirements: ['pymssql==2.4.6'],
    sqlalchemyDriver: 'mssql+pymssql',
    driverModule: 'pymssql',
    exampleJdbcUrl: 'jdbc:sqlserver://mssql:1433;databaseName=dataflow;encrypt=false',
  },
  oracle: {
    label: 'Oracle',
    requirements: ['oracledb==26.1.0'],
    sqlalchemyDriver: 'oracle+oracledb',
    driverModule: 'oracledb',
    exampleJdbcUrl: 'jdbc:oracle:thin:@//oracle:1521/FREEPDB1',
  },
  db2: {
    label: 'Db2',
    requirements: ['ibm_db==3.3.0'],
    sqlalchemyDriver: 'db2+ibm_db',
    driverModule: 'ibm_db',
    exampleJdbcUrl: 'jdbc:db2://db2:50000/dataflow',
  },
};

/** Test tools pinned for the generated project's own suite. */
export const DEV_REQUIREMENTS: readonly string[] = ['pytest==9.2.0', 'ruff==0.17.6', 'mypy==2.4.1'];
