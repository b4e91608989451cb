"""Loading a territory from a file: every error located, nothing written unless all is right."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from sqlalchemy import func
from sqlmodel import select

from clausier.db.tables import (
    Buyer,
    Contractor,
    Convention,
    ConventionTerritory,
    Facilitator,
    Lot,
    Market,
    Structure,
    TransitionLog,
)
from clausier.errors import LoadErrors
from clausier.loading.loader import load
from clausier.markets.models import lot_cpv
from tests.factories import siret

EXAMPLE = Path(__file__).parents[2] / "examples" / "basse-normandie.yaml"
BUYER, CONTRACTOR = siret(11), siret(22)
TABLES = (
    Buyer,
    Structure,
    Facilitator,
    Contractor,
    Convention,
    ConventionTerritory,
    Market,
    Lot,
    TransitionLog,
)


def write(tmp_path: Path, text: str, name: str = "territoire.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def counts(session) -> dict[str, int]:
    return {
        model.__name__: session.exec(select(func.count()).select_from(model)).one()
        for model in TABLES
    }


def snapshot(session) -> dict:
    return {
        model.__name__: sorted(
            repr(sorted(row.model_dump().items())) for row in session.exec(select(model)).all()
        )
        for model in TABLES
    }


GOOD = f"""\
    buyers:
      - siret: "{BUYER}"
        name: Région Normandie
        email: achats@normandie.example
    structures:
      - ref: mde-cotentin
        name: Maison de l'emploi du Cotentin
        kind: maison_emploi
        email: clauses@mde.example
        facilitators:
          - {{email: c.martin@mde.example, name: Camille Martin}}
    contractors:
      - {{siret: "{CONTRACTOR}", name: Bâtiments SARL, email: contact@bat.example}}
    conventions:
      - ref: CONV-1
        buyer: "{BUYER}"
        structure: mde-cotentin
        starts_on: 2026-01-01
        ends_on: 2026-12-31
        renewal: tacit
        territories: ["200067205", "50615"]
        services: [identify, prepare_offer, facilitate]
        hourly_cost: 32
        insertion_rate: 0.07
    markets:
      - ref: MKT-1
        buyer: "{BUYER}"
        title: Collège
        commune: "50129"
        cpv: "45454000"
        amount: 2400000
        consultation_on: 2027-03-01
        execution_starts_on: 2027-06-01
        execution_ends_on: 2028-05-31
        lots:
          - {{number: 1, title: Gros œuvre, amount: 1300000, hours: 700, clause_text: "…"}}
          - {{number: 2, title: Lots techniques, amount: 1100000, contractor: "{CONTRACTOR}"}}
      - ref: MKT-2
        buyer: "{BUYER}"
        title: Voirie
        commune: "50502"
        cpv: "45233140"
        amount: 300000
        state: consultation
"""


def test_a_territory_is_loaded_and_its_markets_assigned(session, tmp_path, clock):
    report = load(session, write(tmp_path, GOOD))
    session.commit()
    assert report.counts["markets"]["created"] == 2
    assert report.counts["lots"]["created"] == 3, "a market without lots is one lot"
    market = session.exec(select(Market).where(Market.ref == "MKT-1")).one()
    assert market.structure_id is not None and market.coverage_flag is None
    uncovered = session.exec(select(Market).where(Market.ref == "MKT-2")).one()
    assert (uncovered.state, uncovered.coverage_flag) == ("consultation", "uncovered")
    assert report.notices == ["MKT-2 : aucune convention en vigueur ne couvre son lieu d'exécution"]
    log = session.exec(select(TransitionLog).where(TransitionLog.market_id == uncovered.id)).one()
    # a market loaded past identification is the operator's historical import, logged as such
    assert (log.from_state, log.to_state, log.trigger) == (None, "consultation", "import")


def test_loading_the_same_file_twice_changes_nothing(session, tmp_path, clock):
    path = write(tmp_path, GOOD)
    load(session, path)
    session.commit()
    before = snapshot(session)
    report = load(session, path)
    session.commit()
    assert not report.changed
    assert snapshot(session) == before


def test_a_second_load_updates_by_natural_key(session, tmp_path, clock):
    load(session, write(tmp_path, GOOD))
    session.commit()
    changed = GOOD.replace("title: Voirie", "title: Voirie communale").replace(
        '"50615"]', '"50615", "14"]'
    )
    report = load(session, write(tmp_path, changed, "v2.yaml"))
    assert report.counts["markets"] == {"updated": 1, "unchanged": 1}
    assert report.counts["conventions"] == {"updated": 1}
    assert counts(session)["Market"] == 2


def test_the_example_territory_loads_twice_without_change(session, clock):
    first = load(session, EXAMPLE)
    session.commit()
    assert first.counts["markets"]["created"] == 12
    assert not load(session, EXAMPLE).changed


def test_every_error_is_listed_with_line_and_field_and_nothing_is_written(session, tmp_path, clock):
    bad = (
        GOOD.replace(
            f'siret: "{BUYER}"\n        name: Région',
            'siret: "12345678901234"\n        name: Région',
        )
        .replace("hours: 700", "hours: -5")
        .replace('cpv: "45233140"', 'cpv: "45233140"\n        colour: blue')
    )
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, bad))
    session.rollback()
    problems = {(p.line, p.field): p.message for p in failure.value.errors}
    assert problems[(2, "buyers[12345678901234].siret")].startswith(
        "SIRET « 12345678901234 » invalide"
    )
    assert (
        problems[(36, "markets[MKT-1].lots[1].hours")]
        == "attendu : une valeur supérieure ou égale à 0"
    )
    assert problems[(43, "markets[MKT-2].colour")] == "clé inconnue"
    assert [(p.line, p.field) for p in failure.value.errors] == [
        (2, "buyers[12345678901234].siret"),
        (16, "conventions[CONV-1].buyer"),  # the buyer's SIRET is no longer in the file
        (27, "markets[MKT-1].buyer"),
        (36, "markets[MKT-1].lots[1].hours"),
        (39, "markets[MKT-2].buyer"),
        (43, "markets[MKT-2].colour"),
    ], "every problem in one run, in the order of the lines"
    assert all(count == 0 for count in counts(session).values())

    dates = GOOD.replace("execution_starts_on: 2027-06-01", "execution_starts_on: 2029-06-01")
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, dates, "dates.yaml"))
    [problem] = failure.value.errors
    assert (problem.line, problem.field) == (26, "markets[MKT-1]")
    assert (
        problem.message == "execution_ends_on (31/05/2028) précède execution_starts_on (01/06/2029)"
    )

    references = GOOD.replace('commune: "50502"', 'commune: "99999"').replace(
        '"50615"]', '"50615", "00000"]'
    )
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, references, "refs.yaml"))
    problems = {(p.line, p.field): p.message for p in failure.value.errors}
    assert problems[(41, "markets[MKT-2].commune")].startswith("commune inconnue « 99999 »")
    assert problems[(21, "conventions[CONV-1].territories[3]")].startswith(
        "« 00000 » n'est ni une commune"
    )
    message = str(failure.value)
    assert "refs.yaml : 2 erreurs, rien n'a été enregistré." in message
    assert "refs.yaml, ligne 41, champ « markets[MKT-2].commune »" in message


def test_unknown_references_and_duplicates_are_refused(session, tmp_path, clock):
    text = GOOD.replace("structure: mde-cotentin", "structure: mde-inconnue").replace(
        f'contractor: "{CONTRACTOR}"', f'contractor: "{siret(33)}"'
    ) + GOOD.split("markets:\n")[1].replace("MKT-2", "MKT-3")
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, text))
    messages = [p.message for p in failure.value.errors]
    assert "structure inconnue « mde-inconnue »" in messages
    assert any(m.startswith(f"titulaire inconnu (SIRET {siret(33)})") for m in messages)
    assert "« MKT-1 » apparaît deux fois dans le fichier" in messages


def test_codes_must_be_quoted_so_that_leading_zeros_survive(session, tmp_path, clock):
    with pytest.raises(LoadErrors, match="mettez les codes et SIRET entre guillemets"):
        load(session, write(tmp_path, GOOD.replace('commune: "50129"', "commune: 50129")))


def test_unknown_top_level_keys_and_broken_yaml_are_named(session, tmp_path, clock):
    with pytest.raises(LoadErrors, match="champ « marches » : clé inconnue"):
        load(session, write(tmp_path, "marches: []\n"))
    with pytest.raises(LoadErrors, match="ligne 3, champ « syntaxe » : YAML illisible"):
        load(session, write(tmp_path, "buyers:\n  - siret: [\n", "broken.yaml"))


def test_a_key_given_twice_in_a_load_file_is_refused_not_the_last_kept(session, tmp_path, clock):
    """YAML keeps the second ``amount`` of a market silently: the file is refused instead, with
    both lines, and nothing is written."""
    twice = GOOD.replace("        amount: 2400000", "        amount: 1\n        amount: 2400000", 1)
    assert twice != GOOD
    with pytest.raises(LoadErrors, match=r"champ « syntaxe » : clé « amount » en double \(lignes"):
        load(session, write(tmp_path, twice, "twice.yaml"))
    assert session.exec(select(Market)).first() is None


def test_markets_and_lots_from_a_french_spreadsheet(session, tmp_path, clock):
    load(session, write(tmp_path, GOOD.split("markets:")[0]))
    csv = write(
        tmp_path,
        f"""\
        ref;buyer;title;commune;cpv;amount;consultation_on;lot_number;lot_title;lot_amount;lot_hours
        MKT-CSV;{BUYER};Groupe scolaire;50129;45214200;1 500 000,00;2027-04-01;1;Gros œuvre;900 000;420
        MKT-CSV;{BUYER};Groupe scolaire;50129;45214200;1 500 000,00;2027-04-01;2;Second œuvre;600 000;-1
        """,
        "marches.csv",
    )
    with pytest.raises(LoadErrors) as failure:
        load(session, csv)
    assert [(p.line, p.field) for p in failure.value.errors] == [
        (3, "markets[MKT-CSV].lots[2].hours")
    ]
    csv.write_text(csv.read_text(encoding="utf-8").replace(";-1", ";280"), encoding="utf-8")
    report = load(session, csv)
    assert report.counts["lots"]["created"] == 2
    lots = session.exec(
        select(Lot).join(Market).where(Market.ref == "MKT-CSV").order_by(Lot.number)
    ).all()
    assert [(lot.amount, lot.hours) for lot in lots] == [(900000, 420), (600000, 280)]


# --- every problem of a file in one run ------------------------------------------------------

ONE_BAD_MARKET = """\
    markets:
      - ref: MKT-9
        buyer: "12345678901234"
        title: Gymnase
        commune: "99999"
        cpv: "45212200"
        amount: -1000
"""


def test_a_bad_siret_a_negative_amount_and_an_unknown_commune_are_reported_at_once(
    session, tmp_path, clock
):
    path = write(tmp_path, ONE_BAD_MARKET)
    with pytest.raises(LoadErrors) as failure:
        load(session, path)
    assert [(p.path, p.line, p.field) for p in failure.value.errors] == [
        (str(path), 3, "markets[MKT-9].buyer"),
        (str(path), 5, "markets[MKT-9].commune"),
        (str(path), 7, "markets[MKT-9].amount"),
    ]
    messages = [p.message for p in failure.value.errors]
    assert messages[0].startswith("SIRET « 12345678901234 » invalide")
    assert messages[1].startswith("commune inconnue « 99999 »")
    assert messages[2] == "attendu : une valeur supérieure ou égale à 0"
    assert "3 erreurs, rien n'a été enregistré" in str(failure.value)
    session.rollback()
    assert all(count == 0 for count in counts(session).values())


def test_a_spreadsheet_row_shows_all_its_problems_at_once(session, tmp_path, clock):
    path = write(
        tmp_path,
        """\
        ref;buyer;title;commune;cpv;amount
        MKT-CSV;12345678901234;Gymnase;99999;45212200;-1 000,00
        """,
        "marches.csv",
    )
    with pytest.raises(LoadErrors) as failure:
        load(session, path)
    assert [(p.path, p.line, p.field) for p in failure.value.errors] == [
        (str(path), 2, "markets[MKT-CSV].buyer"),
        (str(path), 2, "markets[MKT-CSV].amount"),
        (str(path), 2, "markets[MKT-CSV].commune"),
    ]
    assert failure.value.errors[2].message.startswith("commune inconnue « 99999 »")


def test_a_shape_problem_in_one_record_does_not_hide_an_unknown_reference_in_another(
    session, tmp_path, clock
):
    text = (
        GOOD.replace("name: Bâtiments SARL", 'name: ""')
        .replace('commune: "50502"', 'commune: "99999"')
        .replace("structure: mde-cotentin", "structure: mde-inconnue")
    )
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, text))
    assert [(p.line, p.field) for p in failure.value.errors] == [
        (13, f"contractors[{CONTRACTOR}].name"),
        (17, "conventions[CONV-1].structure"),
        (41, "markets[MKT-2].commune"),
    ], "the contractor whose name is wrong is still known to the lot that names it"
    assert failure.value.errors[1].message == "structure inconnue « mde-inconnue »"
    session.rollback()
    assert all(count == 0 for count in counts(session).values())
    report = load(session, write(tmp_path, GOOD, "fixed.yaml"))  # fixed in one round
    assert report.counts["markets"]["created"] == 2


def test_the_history_of_execution_shows_all_its_problems_at_once(session, tmp_path, clock):
    history = """\
    beneficiaries:
      - {code: B-7K2M4Q1A, structure: mde-cotentin, public: deld, sex: X, age_band: 26_to_49,
         checked_by: c.martin@mde.example, checked_on: 2027-05-20}
    declarations:
      - market: MKT-1
        lot: 1
        period: 2027-06
        lines:
          - {beneficiary: B-7K2M4Q1A, modality: direct_hire, hours: 35}
          - {beneficiary: B-00000000, modality: direct_hire, hours: -7}
    outcomes:
      - {market: MKT-404, beneficiary: B-7K2M4Q1A, outcome: durable_employment}
    """
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, GOOD + history))
    sex, *others = failure.value.errors
    assert sex.field == "beneficiaries[B-7K2M4Q1A].sex"
    assert [(p.field, p.message) for p in others] == [
        (
            "declarations[2027-06].lines[B-00000000].hours",
            "attendu : une valeur strictement supérieure à 0",
        ),
        (
            "declarations[2027-06].lines[B-00000000].beneficiary",
            "bénéficiaire inconnu « B-00000000 » : ajoutez-le sous « beneficiaries »",
        ),
        ("outcomes[B-7K2M4Q1A].market", "marché inconnu « MKT-404 »"),
    ], "the person whose sex is wrong is still known to the lines that name them"


def test_a_huge_bad_file_lists_its_first_problems_and_counts_the_others(session, tmp_path, clock):
    rows = "".join(
        f'  - {{siret: "123456789{n:04}", name: X, email: x@x.example}}\n' for n in range(250)
    )
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, "buyers:\n" + rows))
    refused = failure.value
    assert (refused.total, len(refused.errors)) == (250, LoadErrors.LISTED)
    assert [p.line for p in refused.errors] == list(range(2, 202))
    message = str(refused)
    assert "250 erreurs, rien n'a été enregistré" in message
    assert message.endswith(
        "… et 50 autres erreurs non listées : corrigez d'abord celles-ci, puis recommencez."
    )


# --- a lot's own CPV (a market split by trade) ----------------------------------------------

OWN_CPV = GOOD.replace(
    "amount: 1300000, hours: 700,", 'cpv: "45210000", amount: 1300000, hours: 700,'
)
assert OWN_CPV != GOOD


def test_a_lot_has_its_own_cpv_and_one_without_takes_the_markets(session, tmp_path, clock):
    load(session, write(tmp_path, OWN_CPV))
    session.commit()
    market = session.exec(select(Market).where(Market.ref == "MKT-1")).one()
    first, second = session.exec(
        select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)
    ).all()
    assert (first.cpv, second.cpv) == ("45210000", None)
    assert lot_cpv(first, market) == ("45210000", "lot")
    assert lot_cpv(second, market) == ("45454000", "market")
    # the file describes the lot: left out again, the lot takes the market's CPV back
    report = load(session, write(tmp_path, GOOD, "v2.yaml"))
    assert report.counts["lots"]["updated"] == 1
    session.refresh(first)
    assert first.cpv is None


def test_a_bad_lot_cpv_is_refused_on_its_line_and_field(session, tmp_path, clock):
    text = OWN_CPV.replace('cpv: "45210000"', 'cpv: "4521"')
    path = write(tmp_path, text)
    with pytest.raises(LoadErrors) as failure:
        load(session, path)
    session.rollback()
    line = next(n for n, row in enumerate(dedent(text).splitlines(), 1) if '"4521"' in row)
    [problem] = failure.value.errors
    assert (problem.line, problem.field) == (line, "markets[MKT-1].lots[1].cpv")
    assert problem.message.startswith("code CPV « 4521 » invalide : attendu 8 chiffres")
    assert counts(session)["Lot"] == 0


def test_a_spreadsheet_gives_a_lot_its_cpv_in_lot_cpv(session, tmp_path, clock):
    load(session, write(tmp_path, GOOD.split("markets:")[0]))
    csv = write(
        tmp_path,
        f"""\
        ref;buyer;title;commune;cpv;amount;lot_number;lot_title;lot_cpv;lot_amount
        MKT-CSV;{BUYER};Groupe scolaire;50129;45214200;1 500 000;1;Gros œuvre;45210000;900 000
        MKT-CSV;{BUYER};Groupe scolaire;50129;45214200;1 500 000;2;Second œuvre;;600 000
        MKT-CSV;{BUYER};Groupe scolaire;50129;45214200;1 500 000;3;Peinture;4544;100 000
        """,
        "marches.csv",
    )
    with pytest.raises(LoadErrors) as failure:
        load(session, csv)
    assert [(p.line, p.field) for p in failure.value.errors] == [
        (4, "markets[MKT-CSV].lots[3].cpv")
    ]
    csv.write_text(csv.read_text(encoding="utf-8").replace(";4544;", ";45442100;"), "utf-8")
    load(session, csv)
    lots = session.exec(
        select(Lot).join(Market).where(Market.ref == "MKT-CSV").order_by(Lot.number)
    ).all()
    assert [lot.cpv for lot in lots] == ["45210000", None, "45442100"]


# --- an outcome recorded before its date says why --------------------------------------------

HISTORY = """\
beneficiaries:
  - {code: B-7K2M4Q1A, structure: mde-cotentin, public: deld, sex: F, age_band: 26_to_49,
     checked_by: c.martin@mde.example, checked_on: 2027-05-20}
declarations:
  - market: MKT-1
    lot: 1
    period: 2027-06
    lines:
      - {beneficiary: B-7K2M4Q1A, modality: direct_hire, hours: 35, status: validated}
outcomes:
  - {market: MKT-1, beneficiary: B-7K2M4Q1A, outcome: durable_employment}
"""


def test_a_file_refuses_an_outcome_recorded_before_its_date_without_a_reason(
    session, tmp_path, clock
):
    """MKT-1 ends on 31 May 2028: its outcomes « six months after » are known from 30 November
    2028. Loaded in July, an outcome needs the reason the page and the API ask for."""
    clock.move_to("2028-07-01 10:00 +02:00")
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, dedent(GOOD) + HISTORY))
    assert [(p.field, p.message) for p in failure.value.errors] == [
        (
            "outcomes[B-7K2M4Q1A].early_reason",
            "la sortie à six mois de MKT-1 se constate à partir du 30/11/2028 (six mois après la "
            "fin d'exécution) : avant cette date, indiquez pourquoi vous l'enregistrez déjà "
            "(early_reason)",
        )
    ]
    session.rollback()
    with_reason = HISTORY.replace(
        "outcome: durable_employment}", 'outcome: durable_employment, early_reason: "CDI signé"}'
    )
    report = load(session, write(tmp_path, dedent(GOOD) + with_reason, "with-reason.yaml"))
    assert report.counts["outcomes"]["created"] == 1
    session.rollback()
    clock.move_to("2028-12-01 10:00 +01:00")
    report = load(session, write(tmp_path, dedent(GOOD) + HISTORY, "after.yaml"))
    assert report.counts["outcomes"]["created"] == 1, "after its date, no reason is asked"
