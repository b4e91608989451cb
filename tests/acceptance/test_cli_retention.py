"""The retention period bounds ``clausier purge``: without a date it erases what the period lets
go (5 years, ``beneficiaries.retention_months: 60``), the names of a market closed 5 years ago and
of a person registered 5 years ago and never declared, and keeps those of 4 years; it says in
French what it erased. Through the real command, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlmodel import select

from clausier import clock as product_clock
from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion
from clausier.clock import PARIS
from clausier.config import get_settings
from clausier.declarations.service import LineInput, declare
from clausier.markets.models import Lot, Market, TransitionLog
from tests import factories as make
from tests.acceptance.test_cli_stories import cli  # noqa: F401  (the fixture)

CLOSED = datetime(2028, 7, 3, 10, tzinfo=PARIS)  # the market closes, a person is registered
A_YEAR_LATER = datetime(2029, 7, 3, 10, tzinfo=PARIS)  # another person is registered


def _moment(years_after_closing: int, day: int = 4) -> datetime:
    return datetime(2028 + years_after_closing, 7, day, 10, tzinfo=PARIS)


def _history(store, clock) -> dict[str, str]:
    """Léa worked in June 2027 on a market closed on 3 July 2028; Hugo was registered that day
    and Inès a year later, neither ever declared. Their codes, by first name."""
    clock.move_to(datetime(2027, 7, 1, 10, tzinfo=PARIS))
    with store.session() as session:
        buyer = make.buyer(session)
        mde = make.structure(session, "mde-cotentin")
        make.convention(
            session,
            buyer=buyer,
            structure=mde,
            starts_on=date(2027, 1, 1),
            ends_on=date(2027, 12, 31),
        )
        market = make.market(
            session, buyer=buyer, ref="MKT-2027-050", state="execution", lots=1,
            awarded_to=make.contractor(session), execution_starts_on=date(2027, 6, 1),
            execution_ends_on=date(2028, 5, 31),
        )  # fmt: skip
        lea = make.beneficiary(session, mde, name="Léa Fontaine", checked_on=date(2027, 5, 20))
        lot = session.exec(select(Lot).where(Lot.market_id == market.id)).one()
        declare(
            session, lot=lot, period="2027-06", lines=[LineInput(lea.code, "direct_hire", 35)],
            actor="test", settings=get_settings(), today=product_clock.today(), now=product_clock.now(),
        )  # fmt: skip
        session.commit()
        market_id = market.id
    clock.move_to(CLOSED)
    with store.session() as session:
        market = session.get(Market, market_id)
        market.state = "closed"
        session.add(market)
        session.add(TransitionLog(market_id=market.id, from_state="evaluation", to_state="closed",
                                  trigger="close", actor="test", at=CLOSED.astimezone(UTC)))  # fmt: skip
        hugo = make.beneficiary(session, session.get(type(mde), mde.id), name="Hugo Lefranc")
        # validated case by case, with a reason that describes him
        criterion = session.exec(
            select(BeneficiaryCriterion).where(BeneficiaryCriterion.beneficiary_id == hugo.id)
        ).one()
        criterion.public, criterion.reason = "other", "sorti de détention en 2028"
        session.add(criterion)
        session.commit()
        codes = {"Léa": lea.code, "Hugo": hugo.code}
    clock.move_to(A_YEAR_LATER)
    with store.session() as session:
        ines = make.beneficiary(session, session.get(type(mde), mde.id), name="Inès Carpentier")
        session.commit()
        codes["Inès"] = ines.code
    return codes


def _names(store) -> dict[str, str | None]:
    with store.session() as session:
        return dict(session.exec(select(Beneficiary.code, Beneficiary.name)).all())


def test_the_purge_keeps_four_years_and_erases_at_five_after_closing_or_registration(
    cli,  # noqa: F811
    store,
    clock,
):
    codes = _history(store, clock)

    clock.move_to(_moment(4))  # 4 years after the closing, and after Hugo's registration
    report = json.loads(cli("purge", "--yes", "--json").out)
    assert report["closed_before"] == "2027-07-04" and report["markets"] == []
    assert (report["erased"], report["never_declared"]) == ([], [])
    assert set(_names(store).values()) == {"Léa Fontaine", "Hugo Lefranc", "Inès Carpentier"}

    clock.move_to(_moment(5))  # 5 years after: Léa's market and Hugo's registration are past it
    told = cli("purge", "--dry-run").err
    assert "Simulation (--dry-run) : rien n'a été effacé." in told
    assert _names(store)[codes["Léa"]] == "Léa Fontaine"
    done = cli("purge", "--yes").err
    assert "Marchés clos avant le 04/07/2028 : 1 (MKT-2027-050)." in done
    assert "Données personnelles effacées (nom, motif d'éligibilité) : 2 bénéficiaires." in done
    assert f"  {codes['Léa']} : effacé" in done
    assert f"  {codes['Hugo']} : effacé (enregistré avant le 04/07/2028, jamais déclaré)" in done
    assert codes["Inès"] not in done
    names = _names(store)
    assert (names[codes["Léa"]], names[codes["Hugo"]]) == (None, None)
    assert names[codes["Inès"]] == "Inès Carpentier", "registered 4 years ago: kept"
    with store.session() as session:
        erased = session.exec(select(Beneficiary).where(Beneficiary.code == codes["Hugo"])).one()
        assert erased.purged_at is not None and erased.sex == "F", "the statistics stay"
        kept = session.exec(
            select(BeneficiaryCriterion).where(BeneficiaryCriterion.beneficiary_id == erased.id)
        ).one()
        assert (kept.public, kept.reason) == ("other", None), "the criterion stays, not its reason"

    clock.move_to(_moment(6))
    again = json.loads(cli("purge", "--yes", "--json").out)
    assert (again["erased"], again["never_declared"]) == ([], [codes["Inès"]])


def test_a_date_within_the_retention_is_still_refused(cli, store, clock):  # noqa: F811
    _history(store, clock)
    clock.move_to(_moment(5))
    refused = cli("purge", "--closed-before", "2028-07-05", "--yes", expect=1).err
    assert "les noms des bénéficiaires sont conservés 60 mois après la clôture du marché" in refused
    assert "Choisissez une date au plus tard le 04/07/2028." in refused
