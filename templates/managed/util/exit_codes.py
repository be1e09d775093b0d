"""The exit code a task's process leaves with, and how it agrees with the code in the row."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: Exit code when the task could not start or its end could not be recorded.
SETUP_FAILURE = 1


def process_exit_code(code: int) -> int:
    """The exit status for a recorded exit code: the same success or failure for every code.

    A process exit status is `code & 0xFF`, so 256 or 512 would read as success: they leave
    with 1. Negative codes keep Python's own mapping (-1 leaves with 255).
    """
    status = code & 0xFF
    return 1 if code and not status else status


def leave_with(exit_code: int, stop_code: int | None) -> int:
    """The process's exit status: `stop_code` (128 + signal) when the platform asked for a stop,
    wherever it came, else the status of `exit_code`."""
    if stop_code is not None:
        return stop_code
    status = process_exit_code(exit_code)
    if status != exit_code:
        log.warning(
            "Exit code %d recorded; the process exits with %d (exit statuses are 0-255)", exit_code, status
        )
    return status
