"""From the command line: a lot's clause chooses its instrument (``clausier offer --instrument``),
the status says which, and a penalty loaded on the convention is named in the clause."""

from __future__ import annotations

import json

from tests.acceptance.test_cli_stories import EXAMPLE, cli  # noqa: F401  (the fixture)


def test_a_facilitator_reserves_a_lot_to_disability_employers_from_the_command_line(
    cli,  # noqa: F811
):
    cli("init")
    cli("load", str(EXAMPLE))
    refused = cli("offer", "MKT-2027-005", "--lot", "2", "--instrument", "reserve", expect=2).err
    assert "Instrument « reserve » inconnu" in refused
    assert (
        "reserved_disability (lot réservé aux entreprises adaptées et aux ESAT, L2113-12)"
        in refused
    )
    shown = cli("offer", "MKT-2027-005", "--lot", "2", "--instrument", "reserved_disability").out
    assert (
        "Instrument : lot réservé aux entreprises adaptées et aux ESAT (article L2113-12 du Code "
        "de la commande publique)"
    ) in shown
    status = cli("status", "MKT-2027-005").out
    assert "instrument : condition d'exécution (article L2112-2" in status  # lot 1, the default
    assert (
        "instrument : lot réservé aux entreprises adaptées et aux ESAT (article L2113-12" in status
    )
    doc = json.loads(cli("status", "MKT-2027-005", "--json").out)
    assert [lot["instrument"] for lot in doc["lots"]] == [
        "execution_condition",
        "reserved_disability",
    ]
    [lot] = json.loads(cli("offer", "MKT-2027-005", "--lot", "2", "--json").out)["lots"]
    assert lot["instrument"] == "reserved_disability", "computed again, the choice stays"
    assert lot["clause_text"].startswith(
        "Lot réservé aux entreprises adaptées et aux établissements et services d'aide par le "
        "travail — article L2113-12 du Code de la commande publique"
    )


def test_the_example_conventions_penalty_is_named_in_the_clause_it_prepares(cli):  # noqa: F811
    """CONV-2026-001 (Région Normandie ↔ MEF du Cotentin) carries 30 € per missing hour."""
    cli("init")
    cli("load", str(EXAMPLE))
    [first, *_] = json.loads(cli("offer", "MKT-2027-001", "--json").out)["lots"]
    assert (
        "une pénalité de 30 € par heure manquante, appliquée par Région Normandie"
        in (first["clause_text"])
    )
