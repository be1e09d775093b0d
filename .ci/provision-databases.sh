#!/usr/bin/env bash
# Provision the real database servers the contract suite (test/contract) runs against.
#
# Installs PostgreSQL 15 and MariaDB 10.11 from Debian when they are missing, starts both on
# loopback, creates a database and a login whose password is full of characters that break
# hand-built URLs, and writes the connection settings as a sourceable shell file (default
# .cache/databases.env; override with SCDF_TEST_DATABASES_ENV_FILE).
#
# Runs as root on a fresh Debian 12 machine with no services started. Idempotent: a second run
# finds the packages installed and the servers running, resets the password, rewrites the file.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENV_FILE=${SCDF_TEST_DATABASES_ENV_FILE:-$ROOT/.cache/databases.env}

PG_VERSION=15
PG_CLUSTER=main
PG_HOST=127.0.0.1
MARIADB_HOST=127.0.0.1
MARIADB_PORT=3306

# One login and one database on each server. The harness creates a scratch database per test
# session next to this one (named "<database>_<suffix>"), so the login may create databases.
DB_NAME=scdf_contract
DB_USER=scdf_contract
# '@ : / % # ? & = ; { }' each break a URL, a JDBC property list or an argv split that was built
# by hand; '%25' turns into '%' when a value is URL-decoded once too often. No quote, backslash,
# space or '$', so the value stays readable in logs of this script and in shell files.
DB_PASSWORD='p@ss:w/rd%25#?&=;{}'

log() { printf 'provision-databases: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages and starts servers)"

# --- packages ---------------------------------------------------------------------------------
installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }

if installed postgresql && installed mariadb-server; then
  log "postgresql and mariadb-server already installed"
else
  log "installing postgresql and mariadb-server from Debian"
  export DEBIAN_FRONTEND=noninteractive
  # Once: skipped when the package lists were refreshed in the last hour (.ci/run may have).
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null) ]]; then
    apt-get update
  fi
  apt-get install -y --no-install-recommends postgresql mariadb-server
fi

# --- PostgreSQL -------------------------------------------------------------------------------
if ! pg_lsclusters --no-header | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {f=1} END {exit !f}'; then
  log "creating PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
  pg_createcluster "$PG_VERSION" "$PG_CLUSTER"
fi
PG_PORT=$(pg_lsclusters --no-header | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $3}')
if pg_lsclusters --no-header | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c && $4 ~ /^online/ {f=1} END {exit !f}'; then
  log "PostgreSQL $PG_VERSION/$PG_CLUSTER already running on port $PG_PORT"
else
  log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
  pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
  sleep 0.5
done
pg_isready -h "$PG_HOST" -p "$PG_PORT" >/dev/null || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT"

pg_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"; }

# psql substitutes :'var' as a correctly quoted literal and :"var" as an identifier; the password
# never appears on a command line.
pg_admin -d postgres -v user="$DB_USER" -v pw="$DB_PASSWORD" <<'SQL'
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') AS create_role \gset
\if :create_role
CREATE ROLE :"user" LOGIN;
\endif
ALTER ROLE :"user" LOGIN CREATEDB PASSWORD :'pw';
SQL
if [[ -z $(pg_admin -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") ]]; then
  pg_admin -d postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
fi
PGPASSWORD=$DB_PASSWORD psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" \
  -tA -c 'SELECT 1' >/dev/null || die "cannot log in to PostgreSQL as $DB_USER over TCP"
log "PostgreSQL ready: $DB_USER@$PG_HOST:$PG_PORT/$DB_NAME"

# --- MariaDB ----------------------------------------------------------------------------------
mariadb_up() { mariadb -uroot -e 'select 1' >/dev/null 2>&1; }

if mariadb_up; then
  log "MariaDB already running"
else
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  if [[ ! -d /var/lib/mysql/mysql ]]; then
    log "initialising the MariaDB data directory"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  mkdir -p "$ROOT/.cache"
  log "starting MariaDB on $MARIADB_HOST:$MARIADB_PORT (log: .cache/mariadbd.log)"
  # setsid: the server must outlive this script and the shell that ran it.
  setsid /usr/sbin/mariadbd --user=mysql --bind-address="$MARIADB_HOST" --port="$MARIADB_PORT" \
    </dev/null >>"$ROOT/.cache/mariadbd.log" 2>&1 &
  for _ in $(seq 1 120); do
    mariadb_up && break
    sleep 0.5
  done
  mariadb_up || die "MariaDB did not answer within 60 s; see .cache/mariadbd.log"
fi

# SQL string literal for MariaDB: double backslashes, escape single quotes.
sql_str() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }
mariadb -uroot <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost';
CREATE USER IF NOT EXISTS '$DB_USER'@'%';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY $(sql_str "$DB_PASSWORD");
ALTER USER '$DB_USER'@'%' IDENTIFIED BY $(sql_str "$DB_PASSWORD");
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost', '$DB_USER'@'%';
GRANT ALL PRIVILEGES ON \`${DB_NAME//_/\\_}\\_%\`.* TO '$DB_USER'@'localhost', '$DB_USER'@'%';
SQL
MYSQL_PWD=$DB_PASSWORD mariadb -h "$MARIADB_HOST" -P "$MARIADB_PORT" -u "$DB_USER" "$DB_NAME" \
  -e 'select 1' >/dev/null || die "cannot log in to MariaDB as $DB_USER over TCP"
log "MariaDB ready: $DB_USER@$MARIADB_HOST:$MARIADB_PORT/$DB_NAME"

# --- settings for the tests -------------------------------------------------------------------
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
mkdir -p "$(dirname "$ENV_FILE")"
tmp=$(mktemp "$ENV_FILE.XXXXXX")
chmod 600 "$tmp"
{
  echo "# Written by .ci/provision-databases.sh; sourced by test/contract/run.sh."
  for kv in \
    SCDF_TEST_PG_HOST="$PG_HOST" \
    SCDF_TEST_PG_PORT="$PG_PORT" \
    SCDF_TEST_PG_DATABASE="$DB_NAME" \
    SCDF_TEST_PG_USER="$DB_USER" \
    SCDF_TEST_PG_PASSWORD="$DB_PASSWORD" \
    SCDF_TEST_MARIADB_HOST="$MARIADB_HOST" \
    SCDF_TEST_MARIADB_PORT="$MARIADB_PORT" \
    SCDF_TEST_MARIADB_DATABASE="$DB_NAME" \
    SCDF_TEST_MARIADB_USER="$DB_USER" \
    SCDF_TEST_MARIADB_PASSWORD="$DB_PASSWORD"; do
    printf 'export %s=%s\n' "${kv%%=*}" "$(shq "${kv#*=}")"
  done
} >"$tmp"
mv -f "$tmp" "$ENV_FILE"
log "wrote $ENV_FILE"
