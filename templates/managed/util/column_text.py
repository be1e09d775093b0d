"""Text cut and simplified to fit the columns of SCDF's and Spring Batch's tables.

A write must not fail because a message is long or holds characters the column cannot store:
Spring Cloud Task cuts its messages to the column, and a database in a narrower character set
(a `latin1` or `utf8mb3` MariaDB table, a `LATIN1` PostgreSQL database) would refuse the row.
So texts are cut to the column's length, keeping the end, and simplified step by step when the
database still refuses them. What the length counts depends on the database: characters on
PostgreSQL and MariaDB/MySQL, bytes on Oracle, SQL Server and Db2. Each adapter declares its
`text_unit` (`util.db_api.Adapter`); a caller that does not know the database gets UTF-8 bytes,
which is never fewer than the characters or the UTF-16 code units of the same text, so a text
cut to it fits a column of either kind.
"""

from __future__ import annotations

import enum


class TextUnit(enum.Enum):
    """What a VARCHAR(n) column's length n counts on a database."""

    #: Characters (Unicode code points), as Python's `len()` counts them.
    CHARACTERS = "characters"
    #: Bytes of the text encoded in UTF-8: the most any encoding of the column needs here.
    UTF8_BYTES = "UTF-8 bytes"


#: For callers that do not know the database: UTF-8 bytes bound characters and bytes alike.
CONSERVATIVE = TextUnit.UTF8_BYTES

#: EXIT_MESSAGE, ERROR_MESSAGE and TASK_PARAM are VARCHAR(2500); what 2500 counts is the database's.
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


def measure(text: str, unit: TextUnit) -> int:
    """The length of `text` in `unit`."""
    return len(text) if unit is TextUnit.CHARACTERS else len(text.encode())


def head(value: str, limit: int, unit: TextUnit = CONSERVATIVE) -> str:
    """The longest start of `value` that is at most `limit` long in `unit` (whole characters)."""
    start = value[: max(limit, 0)]
    while measure(start, unit) > limit:
        # Drop whole characters until the multi-byte ones fit the byte budget too; a character
        # has at most 4 bytes, so this never drops one that would have fitted.
        excess = measure(start, unit) - limit
        start = start[: -max(1, excess // 4)]
    return start


def tail(value: str, limit: int, unit: TextUnit = CONSERVATIVE) -> str:
    """The longest end of `value` that is at most `limit` long in `unit` (whole characters)."""
    end = value[-limit:] if limit > 0 else ""
    while measure(end, unit) > limit:
        excess = measure(end, unit) - limit
        end = end[max(1, excess // 4) :]
    return end


def fit_text(
    value: str | None,
    limit: int = MAX_TEXT,
    mark: str = TRUNCATION_MARK,
    *,
    unit: TextUnit = CONSERVATIVE,
) -> str | None:
    """`value` cut to `limit` (counted in `unit`), keeping the end.

    The end is kept because a Python traceback ends with the exception and its message.
    """
    if value is None or measure(value, unit) <= limit:
        return value
    return mark + tail(value, limit - measure(mark, unit), unit)


def fit_argument(argument: str, limit: int = MAX_TEXT, *, unit: TextUnit = CONSERVATIVE) -> str:
    """An argument cut to fit TASK_PARAM: `--key=` stays in front, the end of the value after it."""
    if measure(argument, unit) <= limit:
        return argument
    key, sep, value = argument.partition("=")
    prefix = f"{key}="
    if sep and key.startswith("-") and measure(prefix, unit) <= limit // 2:
        rest = limit - measure(prefix, unit)
        return prefix + (fit_text(value, rest, ARGUMENT_CUT_MARK, unit=unit) or "")
    return fit_text(argument, limit, unit=unit) or ""


def replace_unstorable(value: str | None, step: int) -> str | None:
    """`value` with the characters of replacement step `step` (0: none) replaced by '?'."""
    if value is None or step == 0:
        return value
    highest = REPLACEMENTS[step - 1][1]
    return "".join(c if ord(c) <= highest else "?" for c in value)
