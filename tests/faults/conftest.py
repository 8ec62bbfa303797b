"""Fault tests: a slow database, a full disk, uploads cut off (fixtures: tests/conftest.py)."""
