"""From the command line, on the example data: the example's SIAE subcontract counted by its
invoice (3,600 € at 30 €/h: 120 h), a CSV of a month with a 10,000 € invoice to an EI (333.33 h)
and a placement through an ETTI whose SIRET is wrong, refused with nothing written."""

from __future__ import annotations

import json

from tests import factories as make
from tests.acceptance.test_cli_stories import EXAMPLE, cli  # noqa: F401  (the fixture)

EI_SIRET, ETTI_SIRET = make.siret(9_601), make.siret(9_602)
WRONG_SIRET = ETTI_SIRET[:-1] + str((int(ETTI_SIRET[-1]) + 1) % 10)


def _lines(cli, market: str, lot: int, period: str) -> list[dict]:  # noqa: F811
    document = json.loads(cli("declarations", market, "--lot", str(lot), "--json").out)
    months = [s for s in document["statements"] if s["period"] == period]
    return months[0]["lines"] if months else []


def test_a_year_of_an_siae_subcontract_and_an_etti_placement_from_the_command_line(cli, tmp_path):  # noqa: F811
    cli("init")
    cli("load", str(EXAMPLE))
    [person, invoice] = _lines(cli, "MKT-2026-012", 1, "2026-10")
    assert (invoice["invoice_ref"], invoice["hours"], invoice["body_kind"]) == (
        "F-2026-118",
        "120.00",
        "ei",
    )
    assert person["beneficiary"] == "B-5F1G7J9E"

    sheet = tmp_path / "novembre.csv"
    header = "beneficiaire;modalite;heures;siret_organisme;type_organisme;facture;montant_ht\n"
    sheet.write_text(
        header + f";subcontracting;;{EI_SIRET};EI;F-2026-140;10000\n"
        f"B-2W6Y8Z3D;placement;20;{WRONG_SIRET};ETTI;;\n",
        encoding="utf-8",
    )
    refused = cli("declare", "MKT-2026-019", "--lot", "2", "--period", "2026-11",
                  "--file", str(sheet), expect=2).err  # fmt: skip
    assert f"{sheet}, ligne 3, champ « body_siret »" in refused
    assert "clé de contrôle incorrecte" in refused and "rien n'a été enregistré" in refused
    assert _lines(cli, "MKT-2026-019", 2, "2026-11") == []

    sheet.write_text(
        sheet.read_text(encoding="utf-8").replace(WRONG_SIRET, ETTI_SIRET), encoding="utf-8"
    )
    cli("declare", "MKT-2026-019", "--lot", "2", "--period", "2026-11", "--file", str(sheet))
    invoice, placed = _lines(cli, "MKT-2026-019", 2, "2026-11")
    assert (invoice["hours"], invoice["invoice_amount"], invoice["hourly_cost"]) == (
        "333.33",
        "10000.00",
        "30.00",
    )
    assert (placed["body_kind"], placed["body_siret"]) == ("etti", ETTI_SIRET)
    listed = cli("declarations", "MKT-2026-019", "--lot", "2").err  # messages go to stderr
    assert "facture F-2026-140 sous-traitance (EI " in listed
    assert "333.33 h (10\u202f000 € HT ÷ 30 € de l'heure (convention " in listed
