"""Fixtures for your tests: a SQLite stand-in for SCDF's database and a way to launch the task.

`pytest_plugins` loads them from util/testing.py, which says what they offer.
"""

pytest_plugins = ["util.testing"]
