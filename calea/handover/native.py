"""The optional C versions of hot pure functions (`calea/handover/_speedups.c`).

Built by `pip install` (setuptools, any C compiler with the Python headers).  The Python
versions are the reference and stay in use when the module is missing or when
`CALEA_PURE_PYTHON=1`; `calea serve` logs which one runs.  Tests compare the two.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def load(name: str = "calea.handover._speedups") -> ModuleType | None:
    """The C module `name`, or None: not built, or `CALEA_PURE_PYTHON` set (also used for
    `calea.store.merkle._sha`, the Merkle log's batch hashing)."""
    if os.environ.get("CALEA_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


speedups = load()
