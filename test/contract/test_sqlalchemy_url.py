"""`sqlalchemy_url()` of a generated project, for task code that uses SQLAlchemy itself.

The task's utilities never import SQLAlchemy, and its runtime requirements leave it out; this
suite's own venv has it. Here the generated project's `util.jdbc_url` runs in that venv: the URL
it builds from the JDBC URL and the `spring.datasource.*` login SCDF hands out must connect to
each real server (and the SQLite stand-in) and read the same row the task wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys

from harness import Backend, Project

# Runs in the project's folder, so that `util` is the generated one.
PROGRAM = """
import json, sys
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from util.jdbc_url import convert, sqlalchemy_url
given = json.loads(sys.argv[1])
target = convert(given["url"], username=given["user"], password=given["password"]).target
url = sqlalchemy_url(target)
engine = create_engine(url, poolclass=NullPool)
with engine.connect() as connection:
    query = "SELECT TASK_NAME FROM TASK_EXECUTION WHERE TASK_EXECUTION_ID = 4711"
    rows = [list(r) for r in connection.execute(text(query))]
masked = not given["password"] or given["password"] not in str(url)
print(json.dumps({"driver": url.drivername, "masked": masked, "rows": rows}))
engine.dispose()
"""


def test_sqlalchemy_url_connects_with_the_raw_password(backend: Backend, project: Project) -> None:
    backend.insert_scdf_row("TASK_", 4711, TASK_NAME="sqlalchemy-user")
    datasource = backend.datasource("exec")
    given = {
        "url": datasource["spring.datasource.url"],
        "user": datasource.get("spring.datasource.username"),
        "password": datasource.get("spring.datasource.password"),
    }

    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(given)],
        cwd=project.directory,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)
    assert found["rows"] == [["sqlalchemy-user"]]
    drivers = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "mariadb": "mysql+pymysql"}
    assert found["driver"] == drivers[backend.name]
    assert found["masked"] is True
