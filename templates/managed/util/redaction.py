"""Keeps secrets out of everything the task logs, prints or writes to the database.

SCDF hands the database password to the task on the command line, in SPRING_APPLICATION_JSON or
in the environment, and a JDBC URL may carry one too. Driver and SQLAlchemy messages can quote a
URL or a connection string, and a stack trace can quote anything, so every text that leaves the
process through this package goes through a `Redactor` first.

A secret is masked where it stands as a value: a whole argument or `key=value` value, a URL's
user-info, a quoted JSON or SQL string, and (when it is long enough not to be an ordinary word)
a word of its own in free text. Never inside a longer word: a password such as `task` must not
turn `--spring.cloud.task.executionid` into `--spring.cloud.******.executionid`, which garbles the
logs and, by the pattern of the masks, gives the password away.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

MASK = "******"

#: Secrets shorter than this are masked only where they stand as a value (after `=` or `:`,
#: or quoted), not as a word in free text, where they would mostly hit ordinary words.
FREE_TEXT_MIN = 8

# What may stand right before and after a secret that is a value. A character class used in a
# negative look-around of its complement, so that the start and end of the text count too.
_VALUE_BEFORE = "=:\"'`"
_WORD_BEFORE = _VALUE_BEFORE + "\\s/([{,<>|"
_AFTER = "\\s\"'`&;@,)\\]}<>|\\\\"
_WORD_AFTER = _AFTER + ".:/!?"

# Matched against the key with case and separators removed, so that `spring.datasource.password`,
# `SPRING_DATASOURCE_PASSWORD` and `api-token` are all caught. Not "pwd": that is the shell's
# current directory.
_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "apikey",
    "privatekey",
    "accesskey",
    "authorization",
)


def is_secret_key(key: str) -> bool:
    """Whether a setting's value must never be shown, judged by its name alone."""
    flat = re.sub(r"[^a-z0-9]", "", key.lower())
    return any(word in flat for word in _SECRET_WORDS)


def _spellings(secret: str) -> set[str]:
    # The same secret shows up escaped in different ways depending on who quotes it: URLs
    # percent-encode it (a URL inside a URL, twice), JSON and repr() escape quotes and
    # backslashes, drivers print bytes.
    return {
        secret,
        quote(secret, safe=""),
        quote(quote(secret, safe=""), safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
    } - {""}


def _pattern(forms: Iterable[str], before: str, after: str) -> str | None:
    # Longest first, so that an escaped spelling is not half-replaced by a shorter one.
    ordered = sorted(set(forms), key=len, reverse=True)
    if not ordered:
        return None
    return f"(?<![^{before}])(?:{'|'.join(map(re.escape, ordered))})(?![^{after}])"


class Redactor:
    """Replaces every known secret, in any usual spelling, with a mask, where it stands as a value."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = frozenset(s for s in secrets if s)
        short = set().union(*(_spellings(s) for s in self._secrets if len(s) < FREE_TEXT_MIN))
        long = set().union(*(_spellings(s) for s in self._secrets if len(s) >= FREE_TEXT_MIN))
        parts = [
            _pattern(short, _VALUE_BEFORE, _AFTER),
            _pattern(long, _WORD_BEFORE, _WORD_AFTER),
        ]
        found = [p for p in parts if p]
        self._pattern = re.compile("|".join(found)) if found else None

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def with_secrets(self, secrets: Iterable[str | None]) -> Redactor:
        """A redactor that also hides `secrets`."""
        return Redactor([*self._secrets, *secrets])

    def redact(self, text: str) -> str:
        """`text` with every secret masked where it stands as a value."""
        if text in self._secrets:
            return MASK
        return self._pattern.sub(MASK, text) if self._pattern else text

    def redact_argument(self, argument: str) -> str:
        """A command-line argument as it may be recorded: `--key=value` loses a secret value."""
        key, sep, value = argument.partition("=")
        if sep and (is_secret_key(key) or value in self._secrets):
            return f"{key}={MASK}"
        return self.redact(argument)


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record's message, exception text and stack text.

    Attached to handlers rather than loggers, so records from SQLAlchemy and the drivers are
    covered as well as ours.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        return True


def install_log_redaction(redactor: Redactor) -> Callable[[], None]:
    """Logs (and Python warnings) to stderr, unless logging is already set up, secrets masked.

    Returns a function that removes the filter again, so that running several tasks in one
    process (as tests do) does not stack filters.
    """
    root = logging.getLogger()
    previous_level = root.level
    added_handler: logging.Handler | None = None
    if not root.handlers:
        added_handler = logging.StreamHandler()
        added_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(added_handler)
        if root.level == logging.WARNING:  # the untouched default
            root.setLevel(logging.INFO)
    log_filter = RedactingFilter(redactor)
    handlers = list(root.handlers)
    for handler in handlers:
        handler.addFilter(log_filter)
    # Python warnings would otherwise be written to stderr directly, past the filter.
    logging.captureWarnings(True)

    def uninstall() -> None:
        logging.captureWarnings(False)
        for handler in handlers:
            handler.removeFilter(log_filter)
        if added_handler is not None:
            root.removeHandler(added_handler)
            root.setLevel(previous_level)

    return uninstall
