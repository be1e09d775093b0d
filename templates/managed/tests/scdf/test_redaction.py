"""The redactor alone: each spelling of a secret, where a secret counts as a value, the log filter."""

import json
import logging
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

import pytest

from util.redaction import (
    FREE_TEXT_MIN,
    MASK,
    RedactingFilter,
    Redactor,
    install_log_redaction,
    is_secret_key,
)

# Chosen so that every spelling below differs from all the others: a space (quote_plus writes
# `+`, quote `%20`), a `/` (kept by quote's default, encoded with safe=""), a non-ASCII letter
# (JSON's \u escape or not, repr of the UTF-8 bytes), a quote and a backslash (JSON and repr
# escape them differently).
SECRET = "pä ss/w\"o\\rd'x"

SPELLINGS = {
    "as given": SECRET,
    "percent-encoded": "p%C3%A4%20ss%2Fw%22o%5Crd%27x",
    "percent-encoded twice": "p%25C3%25A4%2520ss%252Fw%2522o%255Crd%2527x",
    "percent-encoded, '/' kept": "p%C3%A4%20ss/w%22o%5Crd%27x",
    "form-encoded": "p%C3%A4+ss%2Fw%22o%5Crd%27x",
    "JSON": "p\\u00e4 ss/w\\\"o\\\\rd'x",
    "JSON, non-ASCII kept": "pä ss/w\\\"o\\\\rd'x",
    "repr": "pä ss/w\"o\\\\rd\\'x",
    "repr of the UTF-8 bytes": "p\\xc3\\xa4 ss/w\"o\\\\rd\\'x",
}


def test_the_spellings_are_what_their_encoders_write_and_all_differ() -> None:
    assert list(SPELLINGS.values()) == [
        SECRET,
        quote(SECRET, safe=""),
        quote(quote(SECRET, safe=""), safe=""),
        quote(SECRET),
        quote_plus(SECRET),
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        repr(SECRET)[1:-1],
        repr(SECRET.encode())[2:-1],
    ]
    assert len(set(SPELLINGS.values())) == len(SPELLINGS)


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_each_spelling_is_masked_whole(spelling: str) -> None:
    redactor = Redactor([SECRET])
    assert redactor.redact(f"url=db://u:{spelling}@host") == f"url=db://u:{MASK}@host"
    assert redactor.redact(f"failed: {spelling} (28000)") == f"failed: {MASK} (28000)"


def test_a_short_secret_is_masked_only_as_a_value() -> None:
    short = "k" * (FREE_TEXT_MIN - 1)
    redactor = Redactor([short])
    assert redactor.redact(f"x={short}") == f"x={MASK}"
    assert redactor.redact(f"x: '{short}', y") == f"x: '{MASK}', y"
    assert redactor.redact(f"user:{short}@host") == f"user:{MASK}@host"
    # In free text, a word this short is left alone: it would mostly hit ordinary words.
    assert redactor.redact(f"the {short} word") == f"the {short} word"
    assert redactor.redact(f"x={short}y") == f"x={short}y"


def test_a_secret_of_the_free_text_length_is_masked_as_a_word_of_its_own() -> None:
    long = "q" * FREE_TEXT_MIN
    redactor = Redactor([long])
    assert redactor.redact(f"the {long} word.") == f"the {MASK} word."
    assert redactor.redact(f"(/{long}/)") == f"(/{MASK}/)"
    assert redactor.redact(f"the {long}s") == f"the {long}s"
    assert redactor.redact(f"x{long}") == f"x{long}"


def test_the_longest_spelling_wins_where_one_holds_another() -> None:
    # "%" percent-encodes to "%25", so the twice-encoded spelling contains the once-encoded one.
    secret = "ab%cdefgh"
    redactor = Redactor([secret])
    twice = quote(quote(secret, safe=""), safe="")
    assert redactor.redact(f"u={twice}") == f"u={MASK}"
    assert redactor.redact(f"u={secret}&v=1") == f"u={MASK}&v=1"


def test_a_secret_that_extends_another_is_masked_whole() -> None:
    # Shortest first, the shorter secret would match and leave the rest of the longer one shown.
    redactor = Redactor(["hunter22", "hunter22/more"])
    assert redactor.redact("x=hunter22/more") == f"x={MASK}"
    assert redactor.redact("x=hunter22/less") == f"x={MASK}/less"


def test_short_and_long_secrets_are_masked_together() -> None:
    redactor = Redactor(["k1", "long-secret"])
    assert redactor.redact("a=k1 and long-secret") == f"a={MASK} and {MASK}"


@pytest.mark.parametrize("key", ["api-key", "PRIVATE_KEY", "aws.access.key.id", "Pass_Word"])
def test_secret_words_split_by_separators_still_count(key: str) -> None:
    assert is_secret_key(key)


def test_empty_and_missing_secrets_are_ignored() -> None:
    redactor = Redactor([None, "", "tiny"])
    assert repr(redactor) == "Redactor(1 secrets)"
    assert redactor.redact("x= y") == "x= y"
    assert redactor.redact("tiny") == MASK
    assert Redactor().redact("anything=at all") == "anything=at all"
    assert repr(Redactor()) == "Redactor(0 secrets)"


def test_with_secrets_keeps_the_earlier_ones() -> None:
    redactor = Redactor(["first-secret"]).with_secrets(["second-secret", None])
    assert repr(redactor) == "Redactor(2 secrets)"
    assert redactor.redact("first-secret second-secret") == f"{MASK} {MASK}"


@pytest.mark.parametrize(
    ("argument", "shown"),
    [
        ("--spring.datasource.password=anything", f"--spring.datasource.password={MASK}"),
        ("--db.user=k1", f"--db.user={MASK}"),
        ("--db.user=k1k1", "--db.user=k1k1"),
        ("--password", "--password"),
        ("--note=the k1 value", "--note=the k1 value"),
        ("--note=x=k1", f"--note=x={MASK}"),
        ("--spring.datasource.password=a=b", f"--spring.datasource.password={MASK}"),
        ("plain", "plain"),
    ],
)
def test_redact_argument(argument: str, shown: str) -> None:
    assert Redactor(["k1"]).redact_argument(argument) == shown


def record(message: str, *args: object, stack: str | None = None) -> logging.LogRecord:
    return logging.LogRecord("t", logging.ERROR, __file__, 1, message, args, None, sinfo=stack)


def test_the_filter_masks_message_arguments_and_stack() -> None:
    log_filter = RedactingFilter(Redactor(["hunter2hunter2"]))
    entry = record("login %s failed: %r", "scdf", "hunter2hunter2", stack="Stack: hunter2hunter2")
    assert log_filter.filter(entry) is True
    assert entry.msg == f"login scdf failed: '{MASK}'"
    assert entry.args is None
    assert entry.getMessage() == f"login scdf failed: '{MASK}'"
    assert entry.stack_info == f"Stack: {MASK}"
    assert entry.exc_text is None


def test_the_filter_formats_and_masks_an_exception_once() -> None:
    log_filter = RedactingFilter(Redactor(["hunter2hunter2"]))
    try:
        raise RuntimeError("bad password hunter2hunter2")
    except RuntimeError:
        entry = record("failed")
        entry.exc_info = sys.exc_info()
    log_filter.filter(entry)
    assert entry.exc_text is not None
    assert entry.exc_text.startswith("Traceback (most recent call last):")
    assert entry.exc_text.endswith(f"RuntimeError: bad password {MASK}")
    # Text another handler already formatted is masked as it is, not formatted again.
    entry.exc_text = "formatted hunter2hunter2"
    log_filter.filter(entry)
    assert entry.exc_text == f"formatted {MASK}"


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger as a fresh process has it: no handlers, level WARNING. Entered in the
    test's body: pytest adds its capturing handlers to the root logger after fixtures run."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    root.setLevel(logging.WARNING)
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_install_adds_a_masked_stderr_handler_and_uninstall_removes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    showwarning = warnings.showwarning
    with bare_root() as root:
        uninstall = install_log_redaction(Redactor(["hunter2hunter2"]))
        try:
            assert len(root.handlers) == 1
            assert root.level == logging.INFO
            logging.getLogger("db").info("connecting with %s", "hunter2hunter2")
            warnings.warn("deprecated hunter2hunter2", UserWarning, stacklevel=1)
            err = capsys.readouterr().err
            stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
            lines = err.splitlines()
            assert re.fullmatch(rf"{stamp} INFO db: connecting with \*{{6}}", lines[0]), err
            assert re.fullmatch(
                rf"{stamp} WARNING py\.warnings: \S+: UserWarning: deprecated \*{{6}}", lines[1]
            ), err
            assert "hunter2" not in err
        finally:
            uninstall()
        assert root.handlers == []
        assert root.level == logging.WARNING
    assert warnings.showwarning is showwarning


def test_install_keeps_handlers_and_level_set_up_before() -> None:
    with bare_root() as root:
        handler = logging.NullHandler()
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        uninstall = install_log_redaction(Redactor(["hunter2hunter2"]))
        try:
            assert root.handlers == [handler]
            assert [type(f) for f in handler.filters] == [RedactingFilter]
            assert root.level == logging.DEBUG
        finally:
            uninstall()
        assert root.handlers == [handler]
        assert handler.filters == []
        assert root.level == logging.DEBUG


def test_uninstall_leaves_a_level_set_since_when_it_added_no_handler() -> None:
    with bare_root() as root:
        root.addHandler(logging.NullHandler())
        uninstall = install_log_redaction(Redactor())
        root.setLevel(logging.DEBUG)
        uninstall()
        assert root.level == logging.DEBUG


def test_a_level_set_before_is_not_raised_to_info() -> None:
    with bare_root() as root:
        root.setLevel(logging.ERROR)
        uninstall = install_log_redaction(Redactor())
        try:
            assert root.level == logging.ERROR
        finally:
            uninstall()
        assert root.level == logging.ERROR
