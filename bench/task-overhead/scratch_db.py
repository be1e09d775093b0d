"""`python scratch_db.py create|check|drop <vendor> <database> [...]`: the benchmark's scratch database.

The login comes from BENCH_DB_HOST/PORT/USER/PASSWORD and BENCH_DB_ADMIN_DATABASE (a database to
connect to while creating or dropping the scratch one). `create` loads the schema file given and
inserts the rows SCDF would insert before each launch (ids 1..N, START_TIME NULL); `check` fails
unless every row in the range was ended with exit code 0.
"""

import os
import sys
from pathlib import Path

vendor, command, database = sys.argv[1], sys.argv[2], sys.argv[3]
login = {
    "host": os.environ["BENCH_DB_HOST"],
    "port": int(os.environ["BENCH_DB_PORT"]),
    "user": os.environ["BENCH_DB_USER"],
    "password": os.environ["BENCH_DB_PASSWORD"],
}


def connect(name):
    if vendor == "postgresql":
        import psycopg

        return psycopg.connect(dbname=name, autocommit=True, **login)
    import pymysql

    return pymysql.connect(database=name, autocommit=True, **login)


def quoted(name):
    return f'"{name}"' if vendor == "postgresql" else f"`{name}`"


if command in ("create", "drop"):
    admin = connect(os.environ["BENCH_DB_ADMIN_DATABASE"])
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted(database)}")
        if command == "create":
            cursor.execute(f"CREATE DATABASE {quoted(database)}")
    admin.close()
if command == "create":
    schema, rows = sys.argv[4], int(sys.argv[5])
    lines = Path(schema).read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("--"))
    db = connect(database)
    with db.cursor() as cursor:
        for statement in filter(str.strip, text.split(";")):
            cursor.execute(statement)
        cursor.executemany(
            "INSERT INTO TASK_EXECUTION (TASK_EXECUTION_ID, TASK_NAME, LAST_UPDATED) VALUES (%s, %s, NOW())",
            [(i, "bench-task") for i in range(1, rows + 1)],
        )
    db.close()
if command == "check":
    first, last = int(sys.argv[4]), int(sys.argv[5])
    db = connect(database)
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT TASK_EXECUTION_ID FROM TASK_EXECUTION WHERE TASK_EXECUTION_ID BETWEEN %s AND %s "
            "AND (START_TIME IS NULL OR END_TIME IS NULL OR EXIT_CODE <> 0)",
            (first, last),
        )
        unended = [row[0] for row in cursor.fetchall()]
    db.close()
    if unended:
        sys.exit(f"{vendor}: executions {unended} were not ended with exit code 0")
