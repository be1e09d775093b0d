"""Utilities that let a plain Python program run as a Spring Cloud Data Flow task.

Managed by generator-scdf-task: the generator keeps this folder up to date and merges your
edits on update; keep your own code outside it, where template changes cannot conflict with it.
"""
