"""Command-line stories run in-process (same entry point as the ``clausier`` script), so that
the clock is the test's and the stores are the fixtures' (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clausier.cli import runtime
from clausier.cli.app import run

EXAMPLE = Path(__file__).parents[2] / "examples" / "basse-normandie.yaml"


@pytest.fixture
def cli(store, monkeypatch, tmp_path, capsys, clock):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLAUSIER_DATABASE_URL", store.url)
    runtime.settings.cache_clear()
    runtime.engine.cache_clear()

    def call(*args: str, expect: int = 0):
        capsys.readouterr()
        code = run(list(args))
        output = capsys.readouterr()
        assert code == expect, (code, output.out, output.err)
        return output

    yield call
    runtime.engine().dispose()
    runtime.settings.cache_clear()
    runtime.engine.cache_clear()


def test_refusals_explain_themselves_with_the_documented_exit_codes(cli, tmp_path):
    cli("init")
    cli("load", str(EXAMPLE))
    wrong_state = cli("fire", "MKT-2027-001", "publish", expect=1).err
    assert "est à l'état « Identification » (identification)" in wrong_state
    assert "« prepare_offer », « decline », « abandon »" in wrong_state
    uncovered = cli("fire", "MKT-2027-002", "prepare_offer", expect=1).err
    assert "pas de facilitateur, pas de clause" in uncovered
    assert "Marché introuvable : « MKT-9999 »" in cli("status", "MKT-9999", expect=2).err
    assert (
        "n'est pas du JSON valide"
        in cli("fire", "MKT-2027-001", "decline", "--data", "{oops", expect=2).err
    )
    assert "Déclencheur inconnu" in cli("fire", "MKT-2027-001", "publier", expect=2).err

    ambiguous = cli("fire", "MKT-2027-003", "prepare_offer", expect=1).err
    assert "clausier assign MKT-2027-003 --structure REF" in ambiguous
    assert (
        "suivi par Maison de l'emploi et de la formation de l'Orne"
        in cli("assign", "MKT-2027-003", "--structure", "mde-orne").err
    )
    cli("fire", "MKT-2027-003", "prepare_offer")

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'buyers:\n  - {siret: "12345678901234", name: X, email: x@x.example}\n', encoding="utf-8"
    )
    failed = cli("load", str(bad), expect=2).err
    assert "bad.yaml, ligne 2, champ « buyers[12345678901234].siret »" in failed
    assert "rien n'a été enregistré" in failed


def test_conventions_are_renewed_and_terminated_from_the_command_line(cli):
    cli("init")
    cli("load", str(EXAMPLE))
    refs = {
        c["ref"]: c
        for b in json.loads(cli("coverage", "--json").out)["buyers"]
        for c in b["conventions"]
    }
    explicit = next(ref for ref, c in refs.items() if c["renewal"] == "explicit")
    tacit = next(
        ref
        for ref, c in refs.items()
        if c["renewal"] == "tacit" and c["structure"] == "mde-cotentin"
    )
    assert "jusqu'au 31/12/2027" in cli("convention", "renew", explicit).err
    assert "se renouvelle tacitement" in cli("convention", "renew", tacit, expect=1).err
    ended = cli("convention", "terminate", tacit, "--on", "2027-01-01").err
    assert f"Convention {tacit} résiliée à compter du 01/01/2027." in ended
    assert (
        "attendu une date AAAA-MM-JJ"
        in cli("convention", "terminate", tacit, "--on", "demain", expect=2).err
    )


def test_status_and_coverage_speak_json_for_scripts(cli):
    cli("load", str(EXAMPLE))
    status = json.loads(cli("status", "MKT-2027-002", "--json").out)
    assert (status["coverage"]["status"], status["structure"]) == ("uncovered", None)
    assert status["allowed_triggers"][0] == {
        "trigger": "prepare_offer",
        "label": "Préparer l'offre d'insertion",
    }
    report = json.loads(cli("coverage", "--buyer", "22500001800013", "--json").out)
    assert [b["buyer"]["name"] for b in report["buyers"]] == ["Conseil départemental de la Manche"]
    assert (
        "Vouliez-vous dire : « Région Normandie »"
        in cli("coverage", "--buyer", "Region Normandie", expect=2).err
    )


def test_an_uninitialised_database_is_named(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLAUSIER_DATABASE_URL", f"sqlite:///{tmp_path / 'vide.db'}")
    runtime.settings.cache_clear()
    runtime.engine.cache_clear()
    assert run(["status", "MKT-1"]) == 2
    assert "Lancez « clausier init »" in capsys.readouterr().err
    runtime.engine().dispose()
    runtime.settings.cache_clear()
    runtime.engine.cache_clear()
