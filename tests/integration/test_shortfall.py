"""The end of execution reaches the buyer: the hours missing per lot and for the market, and the
penalty its contract carries (a shortfall of 200 h at 30 € an hour gives 6 000 €), on the
market's status, and by e-mail once the figure is final; the last month stays declarable after
``complete`` and its reminder still goes; the warning before the end (``execution_ending``)
goes to whom it should, when it should, once."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from clausier.clock import PARIS
from clausier.config import Settings
from clausier.declarations import shortfall
from clausier.declarations.models import DeclarationLine, Statement
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.markets.models import Lot, Market
from clausier.markets.status import market_overview
from clausier.partners.models import Buyer
from clausier.partnerships.penalty import Penalty, penalty_of
from notifications import sweep
from notifications.models import OutboxMessage, Reminder, ReminderStatus
from notifications.settings import OutboxSettings, SmtpSettings
from tests import factories as make
from workflow.engine import fire


def paris(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


def settings_for(server) -> Settings:
    return Settings(
        outbox=OutboxSettings(transport="smtp"),
        smtp=SmtpSettings(host="127.0.0.1", port=server.port, timeout_seconds=5),
    )


def sweep_on(store, settings, day: date, clock):
    moment = paris(day)
    clock.move_to(moment)
    return sweep.run_once(store.engine, settings, worker="test", now=moment, planning=False)


def _plain(text: str) -> str:
    """A header as read: its narrow no-break spaces (French thousands) as spaces."""
    return str(text).replace("\u202f", " ")


def to(server, address: str) -> list:
    return [m for m in server.messages() if m["To"].addresses[0].addr_spec == address]


# --- the figure --------------------------------------------------------------------------------


def test_a_shortfall_of_200_hours_at_30_euros_an_hour_is_a_penalty_of_6000_euros():
    lots = [
        Lot(id=1, market_id=1, number=1, title="Gros œuvre", amount=Decimal(1), hours=1000,
            hours_validated=Decimal(800)),
        Lot(id=2, market_id=1, number=2, title="Finitions", amount=Decimal(1), hours=500,
            hours_validated=Decimal(620)),  # more than required: nothing missing, no credit
        Lot(id=3, market_id=1, number=3, title="Sans clause", amount=Decimal(1), hours=0),
    ]  # fmt: skip
    result = shortfall.compute(lots, Penalty(Decimal(30), "convention CONV-1"))
    assert [(lot.number, lot.missing, lot.penalty) for lot in result.lots] == [
        (1, Decimal(200), Decimal("6000.00")),
        (2, Decimal(0), Decimal("0.00")),
    ]
    assert (result.required, result.missing, result.penalty) == (1500, 200, Decimal("6000.00"))
    assert shortfall.euros(result.penalty) == "6\u202f000 €"
    without = shortfall.compute(lots, None)
    assert (without.missing, without.penalty, without.lots[0].penalty) == (200, None, None)


def test_the_penalty_is_the_conventions_else_the_buyers_else_none(store, clock):
    clock.move_to(paris(date(2026, 3, 2)))
    with store.session() as session:
        buyer = make.buyer(session)
        convention = make.convention(session, buyer=buyer, structure=make.structure(session))
        market = make.market(session, buyer=buyer)
        assert market.convention_id == convention.id
        assert penalty_of(session, market) is None
        buyer.penalty_per_hour = Decimal(25)
        session.add(buyer)
        session.flush()
        assert penalty_of(session, market) == Penalty(Decimal(25), f"paramètres de {buyer.name}")
        convention.penalty_per_hour = Decimal(30)
        session.add(convention)
        session.flush()
        assert penalty_of(session, market) == Penalty(Decimal(30), f"convention {convention.ref}")


# --- the end of execution, told to the buyer ---------------------------------------------------


@pytest.fixture
def ending(store, clock):
    """A lot of 1 000 h in execution in Cherbourg from January to May 2026, 800 h validated and
    every month but May declared; its convention carries a penalty of 30 € per missing hour."""
    clock.move_to(paris(date(2026, 1, 5)))
    with store.session() as session:
        buyer = make.buyer(session, name="Conseil départemental de la Manche")
        convention = make.convention(session, buyer=buyer, structure=make.structure(session))
        convention.penalty_per_hour = Decimal(30)
        winner = make.contractor(session, name="Bâtiments du Bessin SARL")
        market = make.market(
            session, buyer=buyer, state="execution", lots=1, hours=1000, awarded_to=winner,
            execution_starts_on=date(2026, 1, 1), execution_ends_on=date(2026, 5, 31),
        )  # fmt: skip
        make.every_month_declared(session, market, but=("2026-05",))
        [lot] = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        lot.hours_validated = Decimal(800)
        session.add_all([convention, lot])
        session.commit()
        return {"ref": market.ref, "id": market.id, "lot": lot.id, "buyer": buyer.email,
                "contractor": winner.email}  # fmt: skip


def _complete_on_31_may(store, clock, ending) -> None:
    clock.move_to(paris(date(2026, 5, 31), 10))
    with store.session() as session:
        fire(session, ref=ending["ref"], trigger="complete", actor="f0@test.example")
        session.commit()


def _status(store, ref: str, day: date) -> dict:
    with store.session() as session:
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        return market_overview(session, market, today=day, now=paris(day), settings=Settings())


def test_the_buyer_is_told_the_shortfall_and_its_penalty_once_the_last_month_is_settled(
    store, ending, smtp_server, clock
):
    """Complete on 31 May: the figure is provisional while May is declarable (until 10 June);
    May's declaration reminder still reaches the contractor on 5 June; the buyer gets one
    e-mail on 11 June, 200 h missing and 6 000 € of penalty, and never a second."""
    settings = settings_for(smtp_server)
    _complete_on_31_may(store, clock, ending)

    provisional = _status(store, ending["ref"], date(2026, 6, 1))["shortfall"]
    assert provisional["final"] is False and provisional["status_label"] == "provisoire"
    assert provisional["pending"] == ["le relevé de mai 2026 se déclare jusqu'au 10/06/2026"]
    assert (provisional["missing"], provisional["penalty"]) == ("200.00", "6000.00")
    assert provisional["penalty_source"].startswith("convention CONV-")
    with store.session() as session:
        [notice] = session.exec(select(Reminder).where(Reminder.rule == "shortfall_buyer")).all()
        # the day after May's deadline (Wednesday 10 June), at the office's opening
        assert (notice.recipient_role, notice.due_at) == ("buyer", paris(date(2026, 6, 11), 8))

    sweep_on(store, settings, date(2026, 6, 5), clock)
    [due] = to(smtp_server, ending["contractor"])
    assert due["Subject"].startswith("Relevé d'heures de mai 2026 à déclarer avant le 10/06/2026")
    assert to(smtp_server, ending["buyer"]) == []

    with store.session() as session:  # May declared on 5 June, after the complete
        session.add(Statement(lot_id=ending["lot"], period="2026-05",
                              declared_by="contractor:test", declared_at=paris(date(2026, 6, 5))))  # fmt: skip
        session.commit()
    for day in (date(2026, 6, 10), date(2026, 6, 11), date(2026, 6, 12), date(2026, 6, 18)):
        sweep_on(store, settings, day, clock)
    [told] = to(smtp_server, ending["buyer"])
    assert _plain(told["Subject"]) == (
        f"Fin d'exécution du marché {ending['ref']} : 200 h d'insertion manquantes, "
        "pénalité de 6 000 €"
    )
    body = told.get_body(("plain",)).get_content()
    assert "800 h validées sur 1\u202f000 h" in body
    assert "200 h × 30 € = 6\u202f000 €" in body
    assert "Ces chiffres sont définitifs" in body
    assert "None" not in body
    final = _status(store, ending["ref"], date(2026, 6, 12))["shortfall"]
    assert (final["final"], final["pending"], final["status_label"]) == (True, [], "définitif")
    with store.session() as session:
        keys = session.exec(
            select(OutboxMessage.idempotency_key).where(OutboxMessage.to_email == ending["buyer"])
        ).all()
    assert keys == [f"shortfall_buyer:market:{ending['id']}:0"]


def test_the_shortfall_notice_waits_for_the_hours_still_to_review(
    store, ending, smtp_server, clock
):
    """May declared on 4 June with 40 h still to review on 11 June: the notice waits (the figure
    would change) and goes the business day after they are reviewed, with the figure they give
    (only reviewed lines count: the 40 h validated, 960 h missing, 28 800 €)."""
    settings = settings_for(smtp_server)
    _complete_on_31_may(store, clock, ending)
    clock.move_to(paris(date(2026, 6, 4)))
    with store.session() as session:
        lot = session.get(Lot, ending["lot"])
        market = session.get(Market, lot.market_id)
        person = make.beneficiary(session, session.get(make.Structure, market.structure_id))
        declared = declare(
            session, lot=lot, period="2026-05",
            lines=[LineInput(person.code, "direct_hire", "40", "cdd")],
            actor="contractor:test", settings=Settings(), today=date(2026, 6, 4),
            now=paris(date(2026, 6, 4)),
        )  # fmt: skip
        session.commit()
        line_ids = session.exec(
            select(DeclarationLine.id).where(DeclarationLine.statement_id == declared.statement.id)
        ).all()
    sweep_on(store, settings, date(2026, 6, 11), clock)
    assert to(smtp_server, ending["buyer"]) == []
    provisional = _status(store, ending["ref"], date(2026, 6, 11))["shortfall"]
    assert provisional["pending"] == ["40 h déclarées restent à contrôler"]
    with store.session() as session:
        [notice] = session.exec(select(Reminder).where(Reminder.rule == "shortfall_buyer")).all()
        assert notice.status == ReminderStatus.pending
        assert notice.due_at == paris(date(2026, 6, 12), 8), "tried again the next business day"
        review(session, [Decision(line_id=i, validate=True) for i in line_ids],
               actor="f0@test.example", settings=Settings(), today=date(2026, 6, 11),
               now=paris(date(2026, 6, 11)))  # fmt: skip
        session.commit()
    sweep_on(store, settings, date(2026, 6, 12), clock)
    [told] = to(smtp_server, ending["buyer"])
    assert "960 h d'insertion manquantes, pénalité de 28 800 €" in _plain(told["Subject"])


def test_no_shortfall_tells_the_buyer_nothing_and_the_page_says_so(
    store, ending, smtp_server, clock
):
    with store.session() as session:
        lot = session.get(Lot, ending["lot"])
        lot.hours_validated = Decimal(1000)
        session.add(lot)
        session.commit()
    _complete_on_31_may(store, clock, ending)
    settings = settings_for(smtp_server)
    for day in (date(2026, 6, 11), date(2026, 6, 12)):
        sweep_on(store, settings, day, clock)
    assert to(smtp_server, ending["buyer"]) == []
    with store.session() as session:
        [notice] = session.exec(select(Reminder).where(Reminder.rule == "shortfall_buyer")).all()
        assert notice.status == ReminderStatus.cancelled
        assert "aucun manque" in notice.cancel_reason
    status = _status(store, ending["ref"], date(2026, 6, 12))["shortfall"]
    assert (status["missing"], status["penalty"]) == ("0.00", "0.00")


def test_a_month_past_its_deadline_after_complete_is_reminded_no_more(
    store, ending, smtp_server, clock
):
    """May not declared by 10 June: it cannot be declared any more, so « manquant » (due two
    business days after the deadline) is cancelled, saying why."""
    settings = settings_for(smtp_server)
    _complete_on_31_may(store, clock, ending)
    day = date(2026, 6, 1)
    while day <= date(2026, 6, 30):
        sweep_on(store, settings, day, clock)
        day += timedelta(days=1)
    assert [m["Subject"].split(" (")[0] for m in to(smtp_server, ending["contractor"])] == [
        "Relevé d'heures de mai 2026 à déclarer avant le 10/06/2026"
    ]
    with store.session() as session:
        missing = session.exec(
            select(Reminder).where(
                Reminder.rule == "declaration_missing", Reminder.period == "2026-05",
                Reminder.occurrence == 0,
            )
        ).one()  # fmt: skip
    assert missing.status == ReminderStatus.cancelled
    assert "se déclarait jusqu'au 10/06/2026" in missing.cancel_reason


def test_complete_keeps_only_the_reminders_of_the_months_still_declarable(store, clock):
    """A market whose hours are all validated completes on 15 March, before its end: April and
    May were not executed, their reminders stop; February's deadline (10 March) is past, its
    reminders stop; March's go on until its deadline (10 April)."""
    clock.move_to(paris(date(2026, 1, 5)))
    with store.session() as session:
        buyer = make.buyer(session)
        make.convention(session, buyer=buyer, structure=make.structure(session))
        market = make.market(
            session, buyer=buyer, state="execution", lots=1, hours=100,
            awarded_to=make.contractor(session),
            execution_starts_on=date(2026, 1, 1), execution_ends_on=date(2026, 5, 31),
        )  # fmt: skip
        [lot] = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        lot.hours_validated = Decimal(100)
        session.add(lot)
        session.commit()
        ref, market_id = market.ref, market.id
    clock.move_to(paris(date(2026, 3, 15), 10))
    with store.session() as session:
        fire(session, ref=ref, trigger="complete", actor="f0@test.example")
        session.commit()
        pending = session.exec(
            select(Reminder.period).where(
                Reminder.market_id == market_id, Reminder.rule == "declaration_due",
                Reminder.status == ReminderStatus.pending,
            )
        ).all()  # fmt: skip
    assert sorted(set(pending)) == ["2026-03"]


# --- the warning before the end (execution_ending) -----------------------------------------------


def test_execution_ending_warns_each_contractor_and_the_structure_six_weeks_before_once(
    store, smtp_server, clock
):
    """Two lots ending on 31 December 2026 in Cherbourg, hours missing: six weeks before (Thursday
    19 November) each contractor hears of its own lot only, and the structure of the market; a
    lot whose hours are all validated gets nothing; nobody hears it twice."""
    clock.move_to(paris(date(2026, 9, 1)))
    settings = settings_for(smtp_server)
    with store.session() as session:
        buyer = make.buyer(session)
        mde = make.structure(session)
        make.convention(session, buyer=buyer, structure=mde)
        first, second, third = (
            make.contractor(session, name=n) for n in ("Alpha", "Bravo", "Charlie")
        )
        market = make.market(
            session, buyer=buyer, state="execution", lots=3, hours=700,
            execution_starts_on=date(2026, 9, 1), execution_ends_on=date(2026, 12, 31),
        )  # fmt: skip
        lots = session.exec(
            select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)
        ).all()
        for lot, holder, done in zip(
            lots, (first, second, third), ("250", "0", "700"), strict=True
        ):
            lot.contractor_id, lot.hours_validated = holder.id, Decimal(done)
            session.add(lot)
        session.commit()
        emails = {name: c.email for name, c in (("a", first), ("b", second), ("c", third))}
        ref, structure_email = market.ref, mde.email
    with store.session() as session:
        due = {(r.rule, r.lot_id is None) for r in session.exec(
            select(Reminder).where(Reminder.rule.like("execution_ending%"))).all()
        }  # fmt: skip
        days = {r.due_at for r in session.exec(
            select(Reminder).where(Reminder.rule.like("execution_ending%"))).all()}  # fmt: skip
    assert due == {("execution_ending_contractor", False), ("execution_ending_facilitator", True)}
    assert days == {paris(date(2026, 11, 19), 8)}
    sweep_on(store, settings, date(2026, 11, 18), clock)
    assert [m for m in smtp_server.messages() if "Fin d'exécution" in m["Subject"]] == []
    for day in (date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 27)):
        sweep_on(store, settings, day, clock)
    ending = [m for m in smtp_server.messages() if "Fin d'exécution" in m["Subject"]]
    by_address = {m["To"].addresses[0].addr_spec: m for m in ending}
    assert sorted(by_address) == sorted([emails["a"], emails["b"], structure_email])
    assert len(ending) == 3, "each once"
    alpha = by_address[emails["a"]].get_body(("plain",)).get_content()
    assert by_address[emails["a"]]["Subject"] == (
        f"Fin d'exécution le 31/12/2026 : heures d'insertion à réaliser ({ref})"
    )
    assert "il reste 450 heure(s) d'insertion à réaliser" in alpha
    assert "lot 1 « Lot 1 » : 250 h validées sur 700 h, 450 h manquantes" in alpha
    assert "lot 2" not in alpha, "a contractor hears of its own lot only"
    facilitator = by_address[structure_email].get_body(("plain",)).get_content()
    assert "il reste 1\u202f150 heure(s)" in facilitator
    assert (
        "lot 1 « Lot 1 »" in facilitator
        and "lot 2 « Lot 2 » : 0 h validées sur 700 h" in facilitator
    )
    assert "lot 3" not in facilitator, "a lot whose hours are all validated is not missing any"
    assert emails["c"] not in by_address


# --- in the reports ----------------------------------------------------------------------------


def test_the_buyers_report_gives_the_shortfall_and_the_penalty_of_its_ended_markets(
    store, ending, clock
):
    from clausier.reports.exports import tables
    from clausier.reports.html import render_file
    from clausier.reports.indicators import indicators, resolve_scope

    with store.session() as session:
        scope = resolve_scope(session, "market", ending["ref"])
        during = indicators(
            session, scope, 2026, today=date(2026, 1, 5), now=paris(date(2026, 1, 5))
        )
    assert during.markets[0].shortfall is None and during.shortfalls == []
    _complete_on_31_may(store, clock, ending)
    with store.session() as session:
        buyer_id = session.exec(select(Market).where(Market.ref == ending["ref"])).one().buyer_id
        siret = session.get(Buyer, buyer_id).siret
        for kind, key in (("market", ending["ref"]), ("buyer", siret)):
            scope = resolve_scope(session, kind, key)
            report = indicators(
                session, scope, 2026, today=date(2026, 6, 1), now=paris(date(2026, 6, 1))
            )
            [market] = report.markets
            assert (market.shortfall.missing, market.shortfall.penalty) == (200, Decimal("6000.00"))
            assert market.shortfall.final is False
            totals = report.as_dict()["totals"]
            assert (totals["missing"], totals["penalty"], totals["shortfall_final"]) == (
                "200.00", "6000.00", False,
            )  # fmt: skip
            doc = report.as_dict()["markets"][0]
            assert doc["lots"][0]["instrument"] == "execution_condition"
            assert doc["shortfall"]["lots"][0]["penalty"] == "6000.00"
    html_file = html.unescape(render_file(report)).replace("\u202f", " ")
    assert "Fin d'exécution : heures manquantes et pénalités" in html_file
    assert "200 h manquantes sur 1 000 h exigées, pénalité de 6 000 € (200 h × 30 €" in html_file
    assert "condition d'exécution (article L2112-2 du Code de la commande publique)" in html_file
    [summary, markets, *_] = tables(report)
    assert ["Pénalités prévues pour ces heures (€)", Decimal("6000.00")] in [
        [row[0], getattr(row[1], "value", None)] for row in summary.rows if row
    ]
    headers = [column.header for column in markets.columns]
    row = markets.rows[0]
    assert row[headers.index("Heures manquantes à la fin d'exécution")] == Decimal(200)
    assert row[headers.index("Pénalité (€)")] == Decimal("6000.00")
    assert row[headers.index("Chiffres de fin d'exécution")] == "provisoire"


def test_the_penalty_is_the_one_the_clause_named_whatever_the_convention_sets_since(store, clock):
    """The offer stored with 30 € per missing hour names it in the clause and is published so:
    the convention raised to 50 € afterwards changes no contract signed before, and a convention
    that had no penalty when the offer was stored gives none to the market's shortfall."""
    from clausier.config import get_settings
    from clausier.offers import service as offers

    clock.move_to(paris(date(2026, 1, 5)))
    with store.session() as session:
        buyer = make.buyer(session)
        convention = make.convention(session, buyer=buyer, structure=make.structure(session))
        convention.penalty_per_hour = Decimal(30)
        session.add(convention)
        market = make.market(session, buyer=buyer, state="insertion_offer", lots=1, hours=None,
                             clause_text=None)  # fmt: skip
        [lot] = offers.prepare(session, market, settings=get_settings().offer, actor="f0",
                               insertion_rate=Decimal("0.05"))  # fmt: skip
        assert "30 €" in lot.clause_text
        convention.penalty_per_hour = Decimal(50)
        session.add(convention)
        session.flush()
        lots = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        assert shortfall.contract_penalty(lots) == Penalty(
            Decimal(30), f"convention {convention.ref}"
        )
        assert penalty_of(session, market).per_hour == Decimal(50), "the rule reads today's"
        # an offer stored while no penalty was set: the contract carries none
        convention.penalty_per_hour = None
        session.add(convention)
        offers.prepare(session, market, settings=get_settings().offer, actor="f0",
                       insertion_rate=Decimal("0.05"))  # fmt: skip
        convention.penalty_per_hour = Decimal(50)
        session.add(convention)
        session.flush()
        lots = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        assert shortfall.contract_penalty(lots) is None
        market.state = "evaluation"
        lots[0].hours_validated = Decimal(0)
        ended = shortfall.at_end(session, market, lots, today=date(2026, 1, 5), declaration_day=10)
        assert ended.penalty is None and ended.missing == lots[0].hours
