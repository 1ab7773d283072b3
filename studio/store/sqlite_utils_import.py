"""sqlite-utils, imported without pandas.

sqlite-utils imports pandas whenever it is installed (it is: datasets needs it), only to map
pandas.Timestamp values to TEXT columns; the store never writes any. pandas costs ~0.8 s of CPU at
every start of every process that opens the store (each `studio runs`, `studio show`, the window,
the worker before it needs datasets), so while sqlite-utils loads, `import pandas` fails for it.
A later `import pandas` (datasets, in the worker) is unaffected.
"""
from __future__ import annotations

import sys
from types import ModuleType


def import_sqlite_utils() -> ModuleType:
    """The sqlite_utils module; loads it with pandas hidden unless either is loaded already."""
    if "sqlite_utils" not in sys.modules and "pandas" not in sys.modules:
        sys.modules["pandas"] = None  # type: ignore[assignment]  # None makes `import pandas` raise
        try:
            import sqlite_utils  # noqa: F401
        finally:
            del sys.modules["pandas"]
    import sqlite_utils

    return sqlite_utils
