"""The execution from the command line, on the example data: a CSV with one bad line writes
nothing, the evaluation opens the way to ``close``, and the purge erases names and keeps the
statistics, but only once the retention period has passed and after a confirmation. Run
in-process on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from clausier.config import get_settings
from tests.acceptance.test_cli_stories import EXAMPLE, cli  # noqa: F401  (the fixture)

# the example's markets close on 25 Nov 2026 (the test clock); 5 years later their names may go
FIVE_YEARS_LATER = datetime.fromisoformat("2032-01-15T10:00:00+01:00")
CLOSED_MARKETS_NAMES = {"B-7K2M4Q1A": "Léa Fontaine", "B-9X3N5R2B": "Hugo Lefranc"}


def _close_the_evaluated_market(run) -> None:
    run("init")
    run("load", str(EXAMPLE))
    run("evaluate", "MKT-2026-005", "--summary", "Bilan", "--outcome", "B-4H8P2T6C=unknown",
        "--early-reason", "le chantier fini, l'ACI ne sait pas")  # fmt: skip
    run("fire", "MKT-2026-005", "close")


def _names(store) -> dict[str, str | None]:
    engine = create_engine(store.url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT code, name FROM beneficiary")).all()
    engine.dispose()
    return dict(rows)


def test_a_csv_with_one_bad_line_writes_nothing_and_names_the_line(cli, tmp_path):  # noqa: F811
    cli("init")
    cli("load", str(EXAMPLE))
    before = json.loads(cli("declarations", "MKT-2026-019", "--lot", "2", "--json").out)
    assert before["statements"] == []
    sheet = tmp_path / "novembre.csv"
    sheet.write_text(
        "beneficiaire;modalite;heures;type_contrat;siret_organisme;type_organisme\n"
        "B-2W6Y8Z3D;direct_hire;35;cdi;;\n"
        'B-2W6Y8Z3D;placement;=HYPERLINK("http://x");;12345678200010;etti\n',
        encoding="utf-8",
    )
    refused = cli("declare", "MKT-2026-019", "--lot", "2", "--period", "2026-11",
                  "--file", str(sheet), expect=2).err  # fmt: skip
    assert f"{sheet}, ligne 3, champ « hours »" in refused and "rien n'a été enregistré" in refused
    after = json.loads(cli("declarations", "MKT-2026-019", "--lot", "2", "--json").out)
    assert after["statements"] == []
    sheet.write_text("beneficiaire;modalite;heures\nB-2W6Y8Z3D;direct_hire;35\n", encoding="utf-8")
    cli("declare", "MKT-2026-019", "--lot", "2", "--period", "2026-11", "--file", str(sheet))
    [november] = json.loads(cli("declarations", "MKT-2026-019", "--lot", "2", "--json").out)[
        "statements"
    ]
    assert [line["hours"] for line in november["lines"]] == ["35.00"]
    # the operator, who sees every lot, is told what the other lots hold (a contractor is not)
    sheet.write_text("beneficiaire;modalite;heures\nB-2W6Y8Z3D;direct_hire;150\n", encoding="utf-8")
    too_many = cli("declare", "MKT-2026-019", "--lot", "1", "--period", "2026-11",
                   "--file", str(sheet), expect=2).err  # fmt: skip
    assert "185,00 h en novembre 2026, dont 35,00 h déjà déclarées sur d'autres lots" in too_many


def test_evaluation_close_then_purge_erases_names_and_keeps_statistics(cli, store, clock):  # noqa: F811
    cli("init")
    cli("load", str(EXAMPLE))
    refused = cli(
        "fire", "MKT-2026-005", "close", "--data", '{"evaluation": "Bilan"}', expect=1
    ).err
    assert "la sortie à six mois de 1 bénéficiaire(s) n'est pas enregistrée (B-4H8P2T6C)" in refused
    # the test clock is before 30/03/2027, six months after the end: an outcome says why already
    early = cli("evaluate", "MKT-2026-005", "--summary", "Bilan : 700 h sur 720",
                "--outcome", "B-4H8P2T6C=unknown", expect=2).err  # fmt: skip
    assert "la sortie à six mois se constate à partir du 30/03/2027" in early
    cli("evaluate", "MKT-2026-005", "--summary", "Bilan : 700 h sur 720",
        "--outcome", "B-4H8P2T6C=unknown", "--early-reason", "l'ACI a perdu sa trace")  # fmt: skip
    cli("fire", "MKT-2026-005", "close")
    assert _names(store)["B-7K2M4Q1A"] == "Léa Fontaine"
    before = json.loads(cli("status", "MKT-2026-005", "--json").out)

    clock.move_to(FIVE_YEARS_LATER)
    report = json.loads(cli("purge", "--closed-before", "2026-12-01", "--yes", "--json").out)
    assert report["markets"] == ["MKT-2026-005", "MKT-2026-008"]
    # Léa and Hugo worked only on closed markets; Inès still works on MKT-2026-019 (in execution)
    assert report["erased"] == ["B-7K2M4Q1A", "B-9X3N5R2B"] and report["kept"] == ["B-2W6Y8Z3D"]
    names = _names(store)
    assert names["B-7K2M4Q1A"] is None and names["B-9X3N5R2B"] is None
    assert names["B-2W6Y8Z3D"] == "Inès Carpentier"
    after = json.loads(cli("status", "MKT-2026-005", "--json").out)
    assert after["lots"] == before["lots"] and after["outcomes"] == before["outcomes"]
    assert after["outcomes"] == {"beneficiaries": 3, "recorded": 3,
                                 "by_outcome": {"durable_employment": 1, "positive_exit": 1, "unknown": 1}}  # fmt: skip
    again = json.loads(cli("purge", "--closed-before", "2026-12-01", "--yes", "--json").out)
    assert again["erased"] == []  # nothing left to erase


def test_a_dry_run_says_what_would_be_erased_and_erases_nothing(cli, store, clock):  # noqa: F811
    _close_the_evaluated_market(cli)
    clock.move_to(FIVE_YEARS_LATER)
    told = cli("purge", "--closed-before", "2026-12-01", "--dry-run")
    assert "B-7K2M4Q1A : à effacer" in told.err and "B-9X3N5R2B : à effacer" in told.err
    assert "Simulation (--dry-run) : rien n'a été effacé." in told.err
    report = json.loads(cli("purge", "--closed-before", "2026-12-01", "--dry-run", "--json").out)
    assert report["dry_run"] is True and report["erased"] == ["B-7K2M4Q1A", "B-9X3N5R2B"]
    assert _names(store).items() >= CLOSED_MARKETS_NAMES.items()


def test_a_date_to_come_or_within_the_retention_is_refused(cli, store, clock, tmp_path):  # noqa: F811
    _close_the_evaluated_market(cli)
    future = cli("purge", "--closed-before", "2026-12-01", "--yes", expect=2).err
    assert "Le 01/12/2026 est dans le futur (nous sommes le 25/11/2026)" in future
    clock.move_to(datetime.fromisoformat("2028-06-01T10:00:00+02:00"))
    kept = cli("purge", "--closed-before", "2026-12-01", "--yes", expect=1).err
    assert "les noms des bénéficiaires sont conservés 60 mois après la clôture du marché" in kept
    assert "Choisissez une date au plus tard le 01/06/2023." in kept
    assert cli("purge", "--closed-before", "2026-12-01", "--dry-run", expect=1).err == kept
    assert _names(store).items() >= CLOSED_MARKETS_NAMES.items()

    # a shorter retention in the configuration lets the same date through
    (tmp_path / "config.yaml").write_text(
        "beneficiaries:\n  retention_months: 18\n", encoding="utf-8"
    )
    get_settings.cache_clear()
    cli("purge", "--closed-before", "2026-12-01", "--yes")
    assert _names(store)["B-7K2M4Q1A"] is None


def test_without_a_terminal_the_purge_needs_yes(cli, store, clock):  # noqa: F811
    _close_the_evaluated_market(cli)
    clock.move_to(FIVE_YEARS_LATER)
    refused = cli("purge", "--closed-before", "2026-12-01", expect=2).err
    assert "sans terminal, ajoutez --yes pour effacer" in refused
    assert _names(store).items() >= CLOSED_MARKETS_NAMES.items()
    cli("purge", "--closed-before", "2026-12-01", "--yes")
    assert _names(store)["B-7K2M4Q1A"] is None and _names(store)["B-9X3N5R2B"] is None


@pytest.fixture
def terminal(monkeypatch):
    """Make the command's stdin a real pseudo-terminal, on which the person types a line."""
    opened = []

    def type_line(answer: str) -> None:
        typist, screen = os.openpty()
        stdin = open(screen, encoding="utf-8")  # noqa: SIM115  (closed below)
        opened.append((typist, stdin))
        os.write(typist, f"{answer}\n".encode())
        monkeypatch.setattr(sys, "stdin", stdin)

    yield type_line
    for typist, stdin in opened:
        stdin.close()
        os.close(typist)


def test_at_a_terminal_the_purge_asks_first(cli, store, clock, terminal):  # noqa: F811
    _close_the_evaluated_market(cli)
    clock.move_to(FIVE_YEARS_LATER)
    terminal("non")
    declined = cli("purge", "--closed-before", "2026-12-01").err
    assert "B-7K2M4Q1A : à effacer" in declined
    assert "Effacer les données personnelles de 2 bénéficiaires ? [o/N]" in declined
    assert "Effacement annulé : rien n'a été effacé." in declined
    assert _names(store).items() >= CLOSED_MARKETS_NAMES.items()

    terminal("oui")
    done = cli("purge", "--closed-before", "2026-12-01").err
    assert "B-7K2M4Q1A : effacé" in done and "B-9X3N5R2B : effacé" in done
    assert _names(store)["B-7K2M4Q1A"] is None and _names(store)["B-9X3N5R2B"] is None
