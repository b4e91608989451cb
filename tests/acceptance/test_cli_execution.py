"""The execution from the command line, on the example data: a CSV with one bad line writes
nothing, the evaluation opens the way to ``close``, and the purge erases names and keeps the
statistics. Run in-process on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from tests.acceptance.test_cli_stories import EXAMPLE, cli  # noqa: F401  (the fixture)


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
        "beneficiaire;modalite;heures;type_contrat\n"
        "B-2W6Y8Z3D;direct_hire;35;cdi\n"
        'B-2W6Y8Z3D;placement;=HYPERLINK("http://x");\n',
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


def test_evaluation_close_then_purge_erases_names_and_keeps_statistics(cli, store, clock):  # noqa: F811
    cli("init")
    cli("load", str(EXAMPLE))
    refused = cli(
        "fire", "MKT-2026-005", "close", "--data", '{"evaluation": "Bilan"}', expect=1
    ).err
    assert "la sortie à six mois de 1 bénéficiaire(s) n'est pas enregistrée (B-4H8P2T6C)" in refused
    cli(
        "evaluate",
        "MKT-2026-005",
        "--summary",
        "Bilan : 700 h sur 720",
        "--outcome",
        "B-4H8P2T6C=unknown",
    )
    cli("fire", "MKT-2026-005", "close")
    assert _names(store)["B-7K2M4Q1A"] == "Léa Fontaine"
    before = json.loads(cli("status", "MKT-2026-005", "--json").out)

    report = json.loads(cli("purge", "--closed-before", "2026-12-01", "--json").out)
    assert report["markets"] == ["MKT-2026-005", "MKT-2026-008"]
    # Léa and Hugo worked only on closed markets; Inès still works on MKT-2026-019 (in execution)
    assert report["erased"] == ["B-7K2M4Q1A", "B-9X3N5R2B"] and report["kept"] == ["B-2W6Y8Z3D"]
    names = _names(store)
    assert names["B-7K2M4Q1A"] is None and names["B-9X3N5R2B"] is None
    assert names["B-2W6Y8Z3D"] == "Inès Carpentier"
    after = json.loads(cli("status", "MKT-2026-005", "--json").out)
    assert after["lots"] == before["lots"] and after["outcomes"] == before["outcomes"]
    assert after["outcomes"] == {"beneficiaries": 3, "recorded": 3,
                                 "by_outcome": {"job_6_months": 1, "qualifying_training": 1, "unknown": 1}}  # fmt: skip
    again = json.loads(cli("purge", "--closed-before", "2026-12-01", "--json").out)
    assert again["erased"] == []  # nothing left to erase
