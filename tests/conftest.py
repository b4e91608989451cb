from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from clausier.clock import PARIS
from tests import stores

REQUIRE_POSTGRES = stores.REQUIRE_POSTGRES
TODAY = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)


def pytest_report_header(config):
    reason = stores.postgres_unreachable_reason()
    return f"postgresql: {'disponible' if reason is None else reason}"


@pytest.fixture(autouse=True)
def _no_travel_from_environment(monkeypatch):
    """Tests control the clock themselves, never through CLAUSIER_NOW."""
    monkeypatch.delenv("CLAUSIER_NOW", raising=False)
    monkeypatch.delenv("CLAUSIER_CONFIG", raising=False)
    monkeypatch.delenv("CLAUSIER_DATABASE_URL", raising=False)


@pytest.fixture
def clock():
    """A clock the test controls: 25 Nov 2026, 10:00 in Paris; ``clock.move_to(...)`` travels."""
    with time_machine.travel(TODAY, tick=False) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    return stores.migrated_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_schema():
    reason = stores.postgres_unreachable_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"CLAUSIER_REQUIRE_POSTGRES=1 mais {reason}")
        pytest.skip(reason)
    schema = stores.PostgresSchema()
    yield schema
    schema.drop()


@pytest.fixture
def sqlite_store(sqlite_template, tmp_path):
    store = stores.sqlite_store(sqlite_template, tmp_path)
    yield store
    store.engine.dispose()


@pytest.fixture
def postgres_store(postgres_schema):
    postgres_schema.empty()
    yield postgres_schema.store()
    postgres_schema.empty()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def store(request):
    """The same story on both stores."""
    return request.getfixturevalue(
        {"sqlite": "sqlite_store", "postgresql": "postgres_store"}[request.param]
    )


@pytest.fixture
def session(store):
    with store.session() as session:
        yield session


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (aiosmtpd), stopped after the test."""
    from tests.smtp import SmtpServer

    server = SmtpServer()
    server.start()
    yield server
    server.stop()
