#!/usr/bin/env bash
# Run test_named_servers.py, the path a user with a SQL Server, Oracle or Db2 server takes
# (SCDF_TEST_<DB>_URL), against the servers at hand: PostgreSQL, MariaDB, and MariaDB again
# through a jdbc:mysql: URL. So the path itself is known to work.
#
#   bash test/contract/run-named-here.sh [pytest args...]
#
# Settings come from .cache/databases.env or SCDF_TEST_PG_* / SCDF_TEST_MARIADB_*, as for the
# contract suite. Without them it fails when databases are required (CI=true or
# SCDF_TEST_REQUIRE_DATABASES=1), and otherwise says so and does nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}
if [[ -f $ENV_FILE ]]; then
  # shellcheck disable=SC1090
  source "$ENV_FILE"
fi
if [[ -z ${SCDF_TEST_PG_HOST:-} || -z ${SCDF_TEST_MARIADB_HOST:-} ]]; then
  if [[ ${CI:-} == true || ${SCDF_TEST_REQUIRE_DATABASES:-} == 1 ]]; then
    echo "named: no PostgreSQL or MariaDB settings, but real databases are required here" >&2
    exit 1
  fi
  echo "named: no PostgreSQL or MariaDB settings: nothing to run" >&2
  exit 0
fi
export SCDF_TEST_POSTGRESQL_URL="jdbc:postgresql://$SCDF_TEST_PG_HOST:${SCDF_TEST_PG_PORT:-5432}/$SCDF_TEST_PG_DATABASE"
export SCDF_TEST_POSTGRESQL_USERNAME=$SCDF_TEST_PG_USER SCDF_TEST_POSTGRESQL_PASSWORD=${SCDF_TEST_PG_PASSWORD:-}
mariadb="$SCDF_TEST_MARIADB_HOST:${SCDF_TEST_MARIADB_PORT:-3306}/$SCDF_TEST_MARIADB_DATABASE"
export SCDF_TEST_MARIADB_URL="jdbc:mariadb://$mariadb" SCDF_TEST_MYSQL_URL="jdbc:mysql://$mariadb"
export SCDF_TEST_MARIADB_USERNAME=$SCDF_TEST_MARIADB_USER SCDF_TEST_MARIADB_PASSWORD=${SCDF_TEST_MARIADB_PASSWORD:-}
export SCDF_TEST_MYSQL_USERNAME=$SCDF_TEST_MARIADB_USER SCDF_TEST_MYSQL_PASSWORD=${SCDF_TEST_MARIADB_PASSWORD:-}
exec bash "$ROOT/test/contract/run.sh" -k named "$@"
