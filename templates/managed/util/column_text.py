"""Text cut and simplified to fit the columns of SCDF's and Spring Batch's tables.

A write must not fail because a message is long or holds characters the column cannot store:
Spring Cloud Task cuts its messages to the column, and a database in a narrower character set
(a `latin1` or `utf8mb3` MariaDB table, a `LATIN1` PostgreSQL database) would refuse the row.
So texts are cut to the column's length in characters and in UTF-8 bytes (some databases count
bytes), keeping the end, and simplified step by step when the database still refuses them.
"""

from __future__ import annotations

#: EXIT_MESSAGE, ERROR_MESSAGE and TASK_PARAM are VARCHAR(2500); some databases count bytes.
MAX_TEXT = 2500
TRUNCATION_MARK = "[...]\n"
#: Marks the cut inside one argument, whose `--key=` is kept in front.
ARGUMENT_CUT_MARK = "[...]"
#: Put in front of an error message whose characters had to be replaced to be stored.
REPLACED_NOTE = "[characters the column's character set cannot store were replaced by '?']\n"


# From the richest text to the plainest: the characters each step replaces with '?'. A utf8mb3
# column holds no character beyond U+FFFF, a latin1 one none beyond U+00FF; ASCII fits anywhere.
REPLACEMENTS: tuple[tuple[str, int], ...] = (
    ("beyond U+FFFF", 0xFFFF),
    ("beyond Latin-1", 0xFF),
    ("beyond ASCII", 0x7F),
)


def fit_text(value: str | None, limit: int = MAX_TEXT, mark: str = TRUNCATION_MARK) -> str | None:
    """`value` cut to `limit` characters and UTF-8 bytes, keeping the end.

    The end is kept because a Python traceback ends with the exception and its message.
    """
    if value is None or (len(value) <= limit and len(value.encode()) <= limit):
        return value
    budget = limit - len(mark.encode())
    tail = value[-budget:] if budget > 0 else ""
    while len(tail.encode()) > budget:
        # Drop whole characters until the multi-byte ones fit the byte budget too.
        excess = len(tail.encode()) - budget
        tail = tail[max(1, excess // 4) :]
    return mark + tail


def fit_argument(argument: str, limit: int = MAX_TEXT) -> str:
    """An argument cut to fit TASK_PARAM: `--key=` stays in front, the end of the value after it."""
    if len(argument) <= limit and len(argument.encode()) <= limit:
        return argument
    key, sep, value = argument.partition("=")
    if sep and key.startswith("-") and len(f"{key}=".encode()) <= limit // 2:
        prefix = f"{key}="
        return prefix + (fit_text(value, limit - len(prefix.encode()), ARGUMENT_CUT_MARK) or "")
    return fit_text(argument, limit) or ""


def replace_unstorable(value: str | None, step: int) -> str | None:
    """`value` with the characters of replacement step `step` (0: none) replaced by '?'."""
    if value is None or step == 0:
        return value
    highest = REPLACEMENTS[step - 1][1]
    return "".join(c if ord(c) <= highest else "?" for c in value)
