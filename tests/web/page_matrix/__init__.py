"""The page matrix's lines, one module per family of pages (``tests/web/test_page_matrix.py``):
(method, path) → (how to call it for a side, {role: (status for own data, for the other's)})."""

from __future__ import annotations

import importlib
import pkgutil

MATRIX: dict = {}
for _module in pkgutil.iter_modules(__path__):
    MATRIX |= importlib.import_module(f"{__name__}.{_module.name}").ENTRIES
