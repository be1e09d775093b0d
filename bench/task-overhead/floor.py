"""The floor: one execution's database work with the bare driver, nothing else.

Reads the settings SCDF passes (`--key=value`), takes host, port and database out of the JDBC URL
with the standard library, and runs the plan it is given in BENCH_FLOOR_PLAN: a list of
connections, each a list of statements, committed at the end of each connection. `params` in a
statement means "once per launch argument" (executemany); `now`, `id` and `param` are bound.
"""

import json
import os
import sys
from datetime import datetime
from urllib.parse import urlsplit

settings = dict(a[2:].partition("=")[::2] for a in sys.argv[1:] if a.startswith("--") and "=" in a)
url = urlsplit(settings["spring.datasource.url"].removeprefix("jdbc:"))
vendor = url.scheme
plan = json.loads(os.environ["BENCH_FLOOR_PLAN"])
execution_id = int(settings["spring.cloud.task.executionid"])
timeout = 5


def connect():  # connect and read timeouts as the task sets them: no extra round trip
    if vendor == "postgresql":
        import psycopg

        return psycopg.connect(
            host=url.hostname,
            port=url.port,
            dbname=url.path.lstrip("/"),
            user=settings["spring.datasource.username"],
            password=settings["spring.datasource.password"],
            connect_timeout=timeout,
        )
    import pymysql

    return pymysql.connect(
        host=url.hostname,
        port=url.port,
        database=url.path.lstrip("/"),
        user=settings["spring.datasource.username"],
        password=settings["spring.datasource.password"],
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
    )


for statements in plan:
    connection = connect()
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                values = {"now": datetime.now(), "id": execution_id}
                if "%(param)s" in statement:
                    cursor.executemany(statement, [{**values, "param": a} for a in sys.argv[1:]])
                else:
                    cursor.execute(statement, values)
        connection.commit()
    finally:
        connection.close()
