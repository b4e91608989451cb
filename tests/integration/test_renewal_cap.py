"""A tacit convention may cap its renewals (``renewal_until``): it runs period after period up
to its cap, then expires, its territory uncovered; its reminders speak before the cap, and never
before a tacit renewal that carries on by itself."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from clausier.clock import PARIS
from clausier.config import Settings, get_settings
from clausier.errors import ConventionRefused, LoadErrors
from clausier.loading.loader import load
from clausier.markets.models import Market
from clausier.partners.models import Buyer
from clausier.partnerships import periods
from clausier.partnerships import service as conventions
from clausier.partnerships.models import Convention
from clausier.partnerships.report import coverage_report
from notifications import sweep
from notifications.models import OutboxMessage, Reminder
from notifications.settings import OutboxSettings
from tests import factories as make

THREE_YEARS = date(2029, 12, 31)  # 1 January 2027 + three yearly periods


def paris(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def capped(store, clock):
    """A tacit convention of one year from 1 January 2027, renewed tacitly for three years at
    most, the only one covering Cherbourg's EPCI, where the buyer has a market under way."""
    clock.move_to(paris(date(2027, 1, 4)))
    with store.session() as session:
        buyer = make.buyer(session)
        mde = make.structure(session, "mde-cotentin")
        convention = make.convention(
            session, buyer=buyer, structure=mde, starts_on=date(2027, 1, 1),
            ends_on=date(2027, 12, 31), renewed_tacitly_until=THREE_YEARS, ref="CONV-2027-003",
        )  # fmt: skip
        market = make.market(
            session, buyer=buyer, ref="MKT-2029-040", state="execution", awarded_to=make.contractor(session),
            execution_starts_on=date(2029, 6, 1), execution_ends_on=date(2030, 5, 31),
        )  # fmt: skip
        market.structure_id = mde.id
        session.add(market)
        session.commit()
        return convention.id, market.id


def test_a_tacit_convention_capped_at_three_years_expires_after_its_third_year(
    store, clock, capped
):
    convention_id, market_id = capped
    with store.session() as session:
        convention = session.get(Convention, convention_id)
        # renewed tacitly twice: its third year is in force to its last day
        assert periods.current_end(convention, date(2028, 3, 1)) == date(2028, 12, 31)
        assert periods.in_force(convention, date(2029, 12, 31))
        assert periods.status_on(convention, date(2030, 1, 1)) == "expired"
        assert periods.last_day_in_force(convention, date(2030, 6, 1)) == THREE_YEARS
        assert periods.convention_document(convention, date(2030, 1, 1)) == {
            "ref": "CONV-2027-003", "starts_on": "2027-01-01", "renewal": "tacit",
            "renewal_until": "2029-12-31", "status": "expired", "in_force_until": "2029-12-31",
        }  # fmt: skip

    settings = get_settings()
    sweep.plan(store.engine, settings, paris(date(2029, 12, 31), 7))
    with store.session() as session:
        market = session.get(Market, market_id)
        assert (market.coverage_flag, market.convention_id) == (None, convention_id)
    clock.move_to(paris(date(2030, 1, 2), 7))
    sweep.plan(store.engine, settings, paris(date(2030, 1, 2), 7))
    with store.session() as session:
        market = session.get(Market, market_id)
        # no convention holds it any more (the structure that followed it is kept, flagged)
        assert (market.coverage_flag, market.convention_id) == ("uncovered", None)
        report = coverage_report(session, today=date(2030, 1, 2))
    [section] = report["buyers"]
    assert [(c["ref"], c["status"]) for c in section["conventions"]] == [
        ("CONV-2027-003", "expired")
    ]
    assert [(g["commune"], g["markets"]) for g in section["gap"]] == [("50129", ["MKT-2029-040"])]


def _planned(store, convention_id: int) -> list[tuple[str, str, str]]:
    """The convention's reminders: rule, day due, the end they speak of."""
    with store.session() as session:
        rows = session.exec(
            select(Reminder).where(Reminder.convention_id == convention_id).order_by(Reminder.rule)
        ).all()
        return [(r.rule, r.due_at.astimezone(PARIS).date().isoformat(),
                 r.idempotency_key.split(":")[3]) for r in rows]  # fmt: skip


def test_the_expiry_reminder_speaks_before_the_cap_and_not_before_a_tacit_renewal(
    store, clock, capped, tmp_path
):
    convention_id, _market_id = capped
    with store.session() as session:
        uncapped = make.convention(
            session, buyer=session.get(Buyer, session.get(Market, _market_id).buyer_id), structure=make.structure(session),
            starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31), covering=(make.MANCHE,),
        )  # fmt: skip
        session.commit()
        uncapped_id = uncapped.id
    settings = Settings(outbox=OutboxSettings(transport="maildir", maildir=tmp_path / "outbox"))
    # the end of the first and of the second year: renewed by themselves, nobody is reminded;
    # only the cap is, eight weeks before it, to the buyer and to the structure
    planned = [("convention_expiring_buyer", "2029-11-05", "2029-12-31"),
               ("convention_expiring_structure", "2029-11-05", "2029-12-31")]  # fmt: skip
    for day in (date(2027, 11, 15), date(2028, 11, 15), date(2028, 12, 31), date(2029, 11, 4)):
        clock.move_to(paris(day))
        sweep.run_once(store.engine, settings, worker="w", now=paris(day))
        assert _planned(store, convention_id) == planned and _planned(store, uncapped_id) == []
    with store.session() as session:
        messages = session.exec(select(OutboxMessage.subject)).all()
        assert not [subject for subject in messages if "convention" in subject.lower()]

    clock.move_to(paris(date(2029, 11, 5)))
    sweep.run_once(store.engine, settings, worker="w", now=paris(date(2029, 11, 5)))
    assert _planned(store, uncapped_id) == []
    with store.session() as session:
        sent = session.exec(select(OutboxMessage).where(OutboxMessage.subject.contains("CONV-2027-003"))).all()  # fmt: skip
        rules = get_settings().reminders
        within = Convention.id == convention_id
        assert conventions.conventions_to_renew(
            session, today=date(2029, 11, 5), rules=rules, recipient="buyer", within=within
        ) == [session.get(Convention, convention_id)]
        assert not conventions.to_renew(
            session.get(Convention, uncapped_id), today=date(2029, 12, 1), rules=rules, recipient="buyer"
        )  # fmt: skip
    assert sorted(m.status for m in sent) == ["sent", "sent"]
    for message in sent:
        assert message.subject == "La convention CONV-2027-003 expire le 31/12/2029"
        assert (
            "sa reconduction tacite atteint sa limite, elle ne sera plus reconduite"
            in message.text_body
        )
        assert "clausier convention renew" not in message.text_body


def test_a_capped_tacit_convention_is_not_renewed_by_hand(store, capped):
    with store.session() as session, pytest.raises(ConventionRefused) as refused:
        conventions.renew(session, "CONV-2027-003", today=date(2029, 11, 5))
    assert str(refused.value) == (
        "La convention CONV-2027-003 se renouvelle tacitement dans la limite du 31/12/2029 : "
        "au-delà, signez une nouvelle convention."
    )


LOADED = """\
buyers:
  - {siret: "23140001100012", name: Conseil départemental du Calvados, email: cp@calvados.example}
structures:
  - {ref: mde-bessin, name: Maison de l'emploi du Bessin, kind: maison_emploi, email: c@mde.example}
conventions:
  - ref: CONV-2027-014
    buyer: "23140001100012"
    structure: mde-bessin
    starts_on: 2027-01-01
    ends_on: 2027-12-31
    renewal: RENEWAL
    renewal_until: UNTIL
    territories: ["14"]
    services: [advise]
"""


def _loaded(renewal: str, until: str) -> str:
    return LOADED.replace("RENEWAL", renewal).replace("UNTIL", until)


def test_the_load_file_caps_a_tacit_convention_and_refuses_a_cap_elsewhere(
    session, tmp_path, clock
):
    path = tmp_path / "capped.yaml"
    path.write_text(_loaded("tacit", "2029-12-31"), encoding="utf-8")
    load(session, path)
    convention = session.exec(select(Convention).where(Convention.ref == "CONV-2027-014")).one()
    assert convention.renewal_until == THREE_YEARS
    session.rollback()
    for renewal, until, message in (
        ("explicit", "2029-12-31", "seule une reconduction tacite a une limite"),
        (
            "tacit",
            "2027-06-30",
            "la limite des reconductions précède la fin de la première période",
        ),
    ):
        path.write_text(_loaded(renewal, until), encoding="utf-8")
        with pytest.raises(LoadErrors) as failure:
            load(session, path)
        assert [message in p.message for p in failure.value.errors] == [True], str(failure.value)
        session.rollback()
