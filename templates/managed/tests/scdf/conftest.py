"""Fixtures shared by the utilities' tests. Managed by generator-scdf-task."""

from util.testing import launch_task, scdf_db

__all__ = ["launch_task", "scdf_db"]
