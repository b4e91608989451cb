"""Fresh, migrated stores for one benchmark run: a SQLite file, a PostgreSQL schema."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.stores import PostgresSchema, Store, migrated_sqlite_template, sqlite_store


@contextmanager
def fresh_store(kind: str) -> Iterator[Store]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="clausier-bench-") as directory:
            path = Path(directory)
            template = migrated_sqlite_template(path)
            (path / "run").mkdir()
            store = sqlite_store(template, path / "run")
            try:
                yield store
            finally:
                store.engine.dispose()
        return
    schema = PostgresSchema()
    try:
        yield schema.store()
    finally:
        schema.drop()
