"""Utilities that let a plain Python program run as a Spring Cloud Data Flow task.

Managed by generator-scdf-task: this folder is rewritten when the generator updates the
project, so keep your own code outside it.
"""
