"""Fixtures for your tests: a SQLite stand-in for SCDF's database and a way to launch the task.

See util/testing.py for what they offer.
"""

from util.testing import launch_task, scdf_db

__all__ = ["launch_task", "scdf_db"]
