"""Fresh, migrated stores for one benchmark run: a SQLite file, a PostgreSQL schema."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from tests.stores import (
    PostgresSchema,
    Store,
    engine_for,
    migrated_sqlite_template,
    sqlite_store,
)


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


@contextmanager
def national_store(kind: str, database: str | None, fill: Callable[[Engine], object]):
    """A fresh store filled by ``fill`` (the generator), or the database given, filled by
    ``clausier demo-data`` beforehand: 100,000 markets take minutes to generate, once."""
    if database:
        engine = engine_for(database)
        try:
            yield Store(engine.dialect.name, database, engine)
        finally:
            engine.dispose()
        return
    with fresh_store(kind) as store:
        fill(store.engine)
        yield store
