"""Macros of the pgpython adapter (materializations for SQL and Python models)."""

import os

PACKAGE_PATH = os.path.dirname(__file__)
