"""The README's story through the real ``clausier`` process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import WorkerProcess, demo_server

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "basse-normandie.yaml"


@pytest.fixture
def cli(tmp_path, request):
    """Run ``clausier`` in a fresh directory against the store under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUSIER_")}
    if request.param == "postgresql":
        env["CLAUSIER_DATABASE_URL"] = request.getfixturevalue("postgres_store").url

    def run(*args: str, now: str | None = None, expect: int = 0) -> subprocess.CompletedProcess:
        extra = {"CLAUSIER_NOW": now} if now else {}
        done = subprocess.run(
            [sys.executable, "-m", "clausier", *args],
            cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
        return done

    return run


# The installed entry point, as a user types it, on the embedded store: each call is a new
# process (about 1.5 s), so the PostgreSQL side of these stories runs in-process instead
# (tests/acceptance/test_cli_stories.py and test_cli_execution.py, on both stores).
SQLITE = pytest.mark.parametrize("cli", ["sqlite"], indirect=True)


@SQLITE
def test_a_new_user_takes_a_market_through_its_whole_life(cli):
    assert (
        "Base créée" in cli("init").stderr or "Base à jour" in cli("init").stderr
    )  # PostgreSQL: schema of the run
    loaded = cli("load", str(EXAMPLE)).stderr
    assert "marchés : 12 créé(s)" in loaded
    assert "marchés : 12 inchangé(s)" in cli("load", str(EXAMPLE)).stderr

    coverage = cli("coverage", "--buyer", "Région Normandie").stdout
    assert "Saint-Lô (50502, CA Saint-Lô Agglo) — marchés : MKT-2027-002" in coverage
    assert (
        "MKT-2027-003 (Identification) — Alençon (61001) — ambigu — mde-orne / plie-caen"
        in coverage
    )

    now = "2026-11-25T10:00"
    cli("fire", "MKT-2027-001", "prepare_offer", "--actor", "facilitateur@mde-cotentin.fr", now=now)
    cli("fire", "MKT-2027-001", "publish", now=now)
    refused = cli("fire", "MKT-2027-001", "award", now=now, expect=1)
    assert "le lot 1 porte une clause mais n'a pas de titulaire" in refused.stderr
    assert (
        "Déclencheurs possibles maintenant : « relaunch » (avec la consultation déclarée "
        "infructueuse et un motif), « abandon » (avec un motif)." in refused.stderr
    )
    cli(
        "fire",
        "MKT-2027-001",
        "award",
        "--data",
        '{"contractors": {"1": "41234567000019", "2": "43876543200010"}}',
        now=now,
    )
    assert "il manque encore" in cli("fire", "MKT-2027-001", "complete", now=now, expect=1).stderr
    cli("fire", "MKT-2027-001", "complete", now="2028-06-01")
    cli(
        "fire",
        "MKT-2027-001",
        "close",
        "--data",
        '{"evaluation": "Bilan : 2 985 heures réalisées"}',
        now="2028-07-01",
    )

    status = json.loads(cli("status", "MKT-2027-001", "--json").stdout)
    assert (status["state"], status["version"]) == ("closed", 6)
    assert [entry["trigger"] for entry in status["history"]] == [
        "load", "prepare_offer", "publish", "award", "complete", "close"
    ]  # fmt: skip
    assert status["history"][1]["actor"] == "facilitateur@mde-cotentin.fr"
    assert status["structure"]["ref"] == "mde-cotentin"
    text = cli("status", "MKT-2027-001").stdout
    assert "État : Clos (closed), version 6" in text
    assert "Suites possibles : aucune (état final)" in text


def test_a_wrong_config_stops_before_anything_runs(tmp_path):
    (tmp_path / "config.yaml").write_text("database:\n  pool_size: -1\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUSIER_")}
    done = subprocess.run(
        [sys.executable, "-m", "clausier", "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Configuration invalide (config.yaml)" in done.stderr
    assert "clé « database.pool_size »" in done.stderr
    assert not (tmp_path / "clausier.db").exists()


def test_the_worker_sends_reminders_on_its_schedule_until_stopped(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUSIER_")}
    env.update({"CLAUSIER_NOW": "2026-11-25T10:00"})
    (tmp_path / "config.yaml").write_text(
        "outbox:\n  sweep_seconds: 1\nlogging:\n  level: INFO\n", encoding="utf-8"
    )
    for command in (["init"], ["load", str(EXAMPLE)]):
        subprocess.run(
            [sys.executable, "-m", "clausier", *command],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
        )
    worker = WorkerProcess(tmp_path, env)
    delivered = worker.wait_delivered(1)
    errors = worker.stop()
    inbox = tmp_path / "outbox" / "new"
    assert delivered and inbox.exists() and any(inbox.iterdir()), errors


def test_serve_demo_prints_tokens_that_open_the_api():
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUSIER_")}
    with demo_server(ROOT, env) as demo:
        tokens = demo["tokens"]
        assert set(tokens) == {"administrateur", "acheteur", "facilitateur", "titulaire"}
        url = demo["url"] + "/api/markets"
        buyer = {"Authorization": f"Bearer {tokens['acheteur']}"}
        response = httpx.get(url, headers=buyer, timeout=30)  # no retry: bound before printed
        assert response.status_code == 200
        assert {item["buyer"] for item in response.json()["items"]} == {"Région Normandie"}
        assert httpx.get(url, timeout=5).status_code == 401
