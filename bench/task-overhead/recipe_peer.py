"""A peer of the "Python/Docker as SCDF Task" recipe (spring-cloud-dataflow-samples,
dataflow-website/recipes/polyglot/polyglot-python-task), written from what it does, not copied:

- the launch settings from `--key=value` arguments;
- the SQLAlchemy URL made from the JDBC URL by dropping `jdbc:` and putting `user:password@`
  after `//` (here URL-quoted: the benchmark's login has URL-breaking characters, which the
  recipe's plain substitution cannot carry; quoting adds no statement);
- one `create_engine(url)` and one `engine.connect()` held for the whole run, under SQLAlchemy 1.4,
  whose library-level autocommit commits each textual UPDATE;
- `UPDATE TASK_EXECUTION SET START_TIME, EXIT_CODE=null, LAST_UPDATED` at the start, then the
  body, then `UPDATE ... SET END_TIME, EXIT_CODE=0, EXIT_MESSAGE=null, ERROR_MESSAGE=null,
  LAST_UPDATED`; no parameters recorded, no timeouts, no retries.

The driver is the floor's: PyMySQL for MariaDB; for PostgreSQL psycopg2, since SQLAlchemy 1.4 has
no dialect for psycopg 3.
"""

import datetime
import sys
import time
from urllib.parse import quote

from sqlalchemy import create_engine
from sqlalchemy.sql import text

settings = dict(a[2:].partition("=")[::2] for a in sys.argv[1:] if a.startswith("--") and "=" in a)
DIALECTS = {"postgresql": "postgresql+psycopg2", "mariadb": "mariadb+pymysql", "mysql": "mysql+pymysql"}
vendor, _, rest = settings["spring.datasource.url"].removeprefix("jdbc:").partition(":")
credentials = quote(settings["spring.datasource.username"], safe="") + ":"
credentials += quote(settings["spring.datasource.password"], safe="")
url = f"{DIALECTS[vendor]}:{rest.replace('//', '//' + credentials + '@', 1)}"
task_id = int(settings["spring.cloud.task.executionid"])

engine = create_engine(url)
connection = engine.connect()
now = datetime.datetime.now()
connection.execute(
    text(
        "UPDATE TASK_EXECUTION SET START_TIME=:start_time, EXIT_CODE=null, LAST_UPDATED=:last_updated "
        "WHERE TASK_EXECUTION_ID=:task_id"
    ),
    {"start_time": now, "last_updated": now, "task_id": task_id},
)
time.sleep(float(settings.get("work.seconds", "0")))
now = datetime.datetime.now()
connection.execute(
    text(
        "UPDATE TASK_EXECUTION SET END_TIME=:end_time, EXIT_CODE=0, EXIT_MESSAGE=null, ERROR_MESSAGE=null, "
        "LAST_UPDATED=:last_updated WHERE TASK_EXECUTION_ID=:task_id"
    ),
    {"end_time": now, "last_updated": now, "task_id": task_id},
)
