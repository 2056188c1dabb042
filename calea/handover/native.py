"""The optional C versions of hot pure functions (`calea/handover/_speedups.c`).

Built by `pip install` (setuptools, any C compiler with the Python headers).  The Python
versions are the reference and stay in use when the module is missing or when
`CALEA_PURE_PYTHON=1`; `calea serve` logs which one runs.  Tests compare the two.
"""

from __future__ import annotations

import os
from types import ModuleType


def load() -> ModuleType | None:
    if os.environ.get("CALEA_PURE_PYTHON"):
        return None
    try:
        from calea.handover import _speedups
    except ImportError:
        return None
    return _speedups


speedups = load()
