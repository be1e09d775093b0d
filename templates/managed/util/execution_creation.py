"""Creates the `<prefix>EXECUTION` row when nobody else did, as Spring Cloud Task does.

SCDF inserts the row before a launch and passes its id. A schedule (`task schedule create` makes a
Kubernetes CronJob that runs the image with the task's properties and arguments), another
scheduler or a plain Job passes none: then a Spring Cloud Task app takes the next id from
`<prefix>SEQ` and inserts the row itself, already started (`JdbcTaskExecutionDao.createTaskExecution`),
and SCDF lists that execution under the task definition whose name it carries.
"""

from __future__ import annotations

from datetime import datetime

from util.db_api import Adapter, Cursor
from util.task_args import validate_table_prefix


def insert_execution(
    adapter: Adapter,
    cursor: Cursor,
    table_prefix: str,
    execution_id: int,
    *,
    task_name: str,
    start_time: datetime,
    external_execution_id: str | None = None,
    parent_execution_id: int | None = None,
) -> None:
    """Inserts a started execution: START_TIME and LAST_UPDATED set, EXIT_CODE and END_TIME null."""
    p = validate_table_prefix(table_prefix)
    insert = (
        f"INSERT INTO {p}EXECUTION (TASK_EXECUTION_ID, EXIT_CODE, START_TIME, TASK_NAME, LAST_UPDATED, "
        "EXTERNAL_EXECUTION_ID, PARENT_EXECUTION_ID) VALUES (?, NULL, ?, ?, ?, ?, ?)"
    )
    cursor.execute(
        adapter.sql(insert),
        (execution_id, start_time, task_name, start_time, external_execution_id, parent_execution_id),
    )
