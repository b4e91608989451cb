"""Eligibility in time (issue 17, item 2): a person's hours count from the check of a criterion,
for its validity; public and age band agree; a person has several criteria, counted once each
in the reports and once in the total; an urban-renewal market's report shows its QPV share."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from clausier import clock as app_clock
from clausier.beneficiaries import eligibility, service
from clausier.config import get_settings
from clausier.db import migrate
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.errors import InvalidInput, LoadErrors
from clausier.reports.indicators import indicators, resolve_scope
from tests import factories as make
from tests.acceptance.test_cli_stories import cli  # noqa: F401  (the command line, in-process)
from tests.api.conftest import world  # noqa: F401  (two organisations of each kind, for the race)

D = Decimal


def _lot(session, **dates):
    buyer, mde = make.buyer(session), make.structure(session, "mde-cotentin")
    make.convention(session, buyer=buyer, structure=mde, covering=(make.COTENTIN_EPCI,))
    market = make.market(
        session, buyer=buyer, in_commune=make.CHERBOURG, state="execution",
        awarded_to=make.contractor(session), **dates,
    )  # fmt: skip
    return buyer, mde, market, market_lot(session, market)


def market_lot(session, market):
    from sqlmodel import select

    from clausier.markets.models import Lot

    return session.exec(select(Lot).where(Lot.market_id == market.id, Lot.number == 1)).one()


def _declare(session, lot, period, *lines):
    return declare(
        session, lot=lot, period=period, lines=[LineInput(code, "direct_hire", hours)
                                                for code, hours in lines],
        actor="test", settings=get_settings(), today=app_clock.today(), now=app_clock.now(),
    )  # fmt: skip


def _refusals(refused: LoadErrors) -> str:
    return str(refused)


def test_september_hours_of_a_person_checked_in_november_are_refused(store, clock):
    clock.move_to("2026-12-05 10:00")
    with store.session() as session:
        _buyer, mde, _market, lot = _lot(
            session, execution_starts_on=date(2026, 9, 1), execution_ends_on=date(2027, 8, 31)
        )
        person = make.beneficiary(session, mde, checked_on=date(2026, 11, 14))
        session.commit()
        with pytest.raises(LoadErrors) as refused:
            _declare(session, lot, "2026-09", (person.code, 35))
        message = _refusals(refused.value)
        assert (
            "14/11/2026" in message and "novembre 2026" in message and "septembre 2026" in message
        )
        session.rollback()
        # the month of the check counts (hours are declared by month)
        assert _declare(session, lot, "2026-11", (person.code, 35)).added == 1


def test_a_check_of_2019_is_refused_for_2026_hours_until_a_new_check(store, clock):
    clock.move_to("2026-10-05 10:00")
    with store.session() as session:
        _buyer, mde, _market, lot = _lot(
            session, execution_starts_on=date(2026, 1, 1), execution_ends_on=date(2026, 12, 31)
        )
        person = make.beneficiary(session, mde, checked_on=date(2019, 3, 20))
        session.commit()
        with pytest.raises(LoadErrors) as refused:
            _declare(session, lot, "2026-09", (person.code, 35))
        # deld: 12 months, from 20 March 2019 to 19 March 2020
        message = _refusals(refused.value)
        assert "20/03/2019" in message and "19/03/2020" in message
        assert "nouvelle vérification" in message
        session.rollback()
        # the facilitator records a renewed check on 1 September 2026: September counts again
        service.record_check(
            session, mde, service.by_code(session, person.code),
            service.Check(public="deld", checked_by="f0@mde-cotentin.example",
                          checked_on=date(2026, 9, 1)),
            today=app_clock.today(), now=app_clock.now(),
        )  # fmt: skip
        assert _declare(session, lot, "2026-09", (person.code, 35)).added == 1
        session.commit()
        # but August, before the new check and long after the old one, still does not
        with pytest.raises(LoadErrors) as refused:
            _declare(session, lot, "2026-08", (person.code, 35))
        assert "la vérification suivante date du 01/09/2026" in _refusals(refused.value)


def test_an_iae_diagnosis_holds_six_months_and_a_pass_iae_twenty_four():
    settings = get_settings().eligibility
    diagnosis = eligibility.Check("siae", date(2026, 3, 20))
    passed = eligibility.Check("siae", date(2026, 3, 20), pass_iae=True)
    assert eligibility.valid_until(diagnosis, settings) == date(2026, 9, 19)
    assert eligibility.valid_until(passed, settings) == date(2028, 3, 19)
    assert eligibility.covers(diagnosis, date(2026, 9, 1), settings)
    assert not eligibility.covers(diagnosis, date(2026, 10, 1), settings)
    assert eligibility.covers(passed, date(2027, 10, 1), settings)


def test_validity_is_configurable_and_checked_at_start_up(tmp_path):
    from clausier.config import load_settings
    from clausier.errors import ConfigError

    good = tmp_path / "good.yaml"
    good.write_text("eligibility:\n  validity_months: {siae: 4}\n", encoding="utf-8")
    settings = load_settings(good).eligibility
    assert settings.validity_months["siae"] == 4 and settings.validity_months["deld"] == 12
    bad = tmp_path / "bad.yaml"
    bad.write_text("eligibility:\n  validity_months: {rsa: 6, deld: 0}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(bad)
    assert "eligibility.validity_months" in str(refused.value)


def test_a_senior_under_26_is_refused_everywhere_a_person_is_registered(store, clock):
    with store.session() as session:
        mde = make.structure(session, "mde-cotentin")
        with pytest.raises(InvalidInput) as refused:
            make.beneficiary(session, mde, public="senior", age_band="under_26")
        assert "50 ans et plus" in str(refused.value) and "moins de 26 ans" in str(refused.value)
        with pytest.raises(InvalidInput) as refused:
            make.beneficiary(session, mde, public=("minima_sociaux", "jeune"), age_band="50_plus")
        assert "« moins de 26 ans », pas « 50 ans et plus »" in str(refused.value)
        person = make.beneficiary(session, mde, public="deld", age_band="under_26")
        with pytest.raises(InvalidInput):  # nor by a later check
            service.record_check(
                session, mde, person,
                service.Check(public="senior", checked_by="f0@mde-cotentin.example",
                              checked_on=app_clock.today()),
                today=app_clock.today(), now=app_clock.now(),
            )  # fmt: skip


def test_an_rsa_recipient_living_in_a_qpv_counts_once_per_criterion_and_once_in_total(store, clock):
    clock.move_to("2027-04-05 10:00")
    with store.session() as session:
        _buyer, mde, market, lot = _lot(
            session, execution_starts_on=date(2027, 1, 1), execution_ends_on=date(2027, 12, 31)
        )
        market.qpv_target = D("0.3")  # ANRU: 30 % of the insertion hours to QPV residents
        session.add(market)
        both = make.beneficiary(session, mde, public=("minima_sociaux", "qpv"))
        other = make.beneficiary(session, mde, public="deld")
        _declare(session, lot, "2027-03", (both.code, 60), (other.code, 140))
        session.commit()
        from sqlmodel import select

        from clausier.declarations.models import DeclarationLine

        ids = session.exec(select(DeclarationLine.id)).all()
        review(
            session, [Decision(i, True) for i in ids], actor="f0", settings=get_settings(),
            today=app_clock.today(), now=app_clock.now(),
        )  # fmt: skip
        session.commit()
        report = indicators(
            session, resolve_scope(session, "market", market.ref), 2027,
            today=app_clock.today(), now=app_clock.now(),
        )  # fmt: skip
    publics = {s.code: (s.beneficiaries, s.hours) for s in report.by_public if s.beneficiaries}
    assert publics == {"minima_sociaux": (1, D("60.00")), "qpv": (1, D("60.00")),
                       "deld": (1, D("140.00"))}  # fmt: skip
    assert report.beneficiaries == 2
    [figures] = report.markets
    # QPV share: 60 h of the QPV resident ÷ 200 h validated = 30 %, for a target of 30 %
    assert (figures.qpv_hours, figures.validated, figures.qpv_share) == (
        D("60.00"), D("200.00"), D("0.3000"))  # fmt: skip
    document = report.as_dict()["markets"][0]
    assert document["urban_renewal"] is True and document["qpv_target"] == "0.3000"
    from clausier.reports import html

    page = html.render_file(report)
    assert "Renouvellement urbain (ANRU / NPNRU)" in page
    assert "soit 30,0\u202f%, pour un objectif de 30,0\u202f%" in page


def test_migration_0015_moves_each_public_and_check_into_a_criterion(store, clock):
    with store.session() as session:
        mde = make.structure(session, "mde-cotentin")
        session.commit()
        structure_id = mde.id
        facilitator = session.exec(
            text("SELECT id FROM facilitator WHERE structure_id = :s"), params={"s": mde.id}
        ).scalar()
    migrate.downgrade(store.engine, "0014_outcomes_iae")
    with store.engine.begin() as connection:
        for code, public, reason, day in (
            ("B-00000001", "deld", None, "2026-03-20"),
            ("B-00000002", "other", "sortant de détention", "2026-05-02"),
        ):
            connection.execute(
                text(
                    "INSERT INTO beneficiary (code, structure_id, public, public_reason, "
                    "checked_by_id, checked_on, sex, age_band, created_at) VALUES (:code, :s, "
                    ":public, :reason, :f, :day, 'F', '26_to_49', :now)"
                ),
                {"code": code, "s": structure_id, "public": public, "reason": reason,
                 "f": facilitator, "day": date.fromisoformat(day), "now": app_clock.now()},
            )  # fmt: skip
    migrate.upgrade(store.engine)
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    with store.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT b.code, c.public, c.reason, c.checked_on, c.checked_by_id, c.pass_iae "
                "FROM beneficiary_criterion c JOIN beneficiary b ON b.id = c.beneficiary_id "
                "ORDER BY b.code"
            )
        ).all()
    assert [(r[0], r[1], r[2], str(r[3]), r[4], bool(r[5])) for r in rows] == [
        ("B-00000001", "deld", None, "2026-03-20", facilitator, False),
        ("B-00000002", "other", "sortant de détention", "2026-05-02", facilitator, False),
    ]
    # and back: a person keeps the criterion checked first
    migrate.downgrade(store.engine, "0014_outcomes_iae")
    with store.engine.connect() as connection:
        back = connection.execute(
            text("SELECT code, public, public_reason, checked_on FROM beneficiary ORDER BY code")
        ).all()
    migrate.upgrade(store.engine)
    assert [(r[0], r[1], r[2], str(r[3])) for r in back] == [
        ("B-00000001", "deld", None, "2026-03-20"),
        ("B-00000002", "other", "sortant de détention", "2026-05-02"),
    ]


def test_racing_renewed_checks_of_one_person_record_it_once_and_say_so_to_the_others(
    world,  # noqa: F811
    store,
):
    """Six facilitators' requests record the same renewed check at once: one is recorded (201),
    the others are told it is already there (422); nobody gets a 500, one row in the store."""
    from collections import Counter

    from sqlmodel import func, select

    from clausier.app import create_app
    from clausier.auth.models import Role
    from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion
    from tests.api.test_market_writes import RACERS, _race
    from tests.serving import serving

    own = world.own
    body = {"public": "qpv", "checked_by": own.facilitator_email, "checked_on": "2026-11-02"}
    auth = {"Authorization": f"Bearer {world.tokens[Role.facilitator]}"}
    path = f"/api/beneficiaries/{own.beneficiary}/checks"
    with serving(create_app(store.engine, get_settings())) as url:
        answers = _race(url, [("POST", path, {"json": body, "headers": auth})] * RACERS)
    assert Counter(a.status_code for a in answers) == Counter({201: 1, 422: RACERS - 1})
    refused = next(a for a in answers if a.status_code == 422).json()
    assert "déjà enregistrée" in str(refused)
    with store.session() as session:
        person = session.exec(select(Beneficiary).where(Beneficiary.code == own.beneficiary)).one()
        count = session.exec(
            select(func.count()).where(
                BeneficiaryCriterion.beneficiary_id == person.id,
                BeneficiaryCriterion.public == "qpv",
            )
        ).one()
    assert count == 1


STRUCTURE = """\
structures:
  - ref: mde-cotentin
    name: Maison de l'emploi du Cotentin
    kind: maison_emploi
    email: clauses@mde-cotentin.example
    facilitators:
      - {email: c.martin@mde-cotentin.example, name: Camille Martin}
"""


def test_the_command_line_refuses_a_senior_under_26_and_records_two_criteria_and_a_renewal(
    cli,  # noqa: F811
    tmp_path,
):
    cli("init")
    (tmp_path / "structure.yaml").write_text(STRUCTURE, encoding="utf-8")
    cli("load", str(tmp_path / "structure.yaml"))
    who = ("--structure", "mde-cotentin", "--checked-by", "c.martin@mde-cotentin.example")
    refused = cli("beneficiary", "add", *who, "--public", "senior", "--sex", "M",
                  "--age-band", "under_26", expect=2).err  # fmt: skip
    assert "suppose la tranche d'âge « 50 ans et plus », pas « moins de 26 ans »" in refused
    code = json.loads(
        cli("beneficiary", "add", *who, "--public", "minima_sociaux", "--public", "qpv",
            "--sex", "F", "--age-band", "26_to_49", "--checked-on", "2026-03-20", "--json").out
    )["code"]  # fmt: skip
    renewed = cli("beneficiary", "check", code, *who, "--public", "qpv",
                  "--checked-on", "2026-11-02").err  # fmt: skip
    assert "le 02/11/2026, valable jusqu'au 01/11/2027" in renewed
    [person] = json.loads(cli("beneficiary", "list", "--structure", "mde-cotentin", "--json").out)[
        "items"
    ]
    assert person["publics"] == ["minima_sociaux", "qpv"]
    assert [(c["public"], c["checked_on"], c["valid_until"]) for c in person["criteria"]] == [
        ("minima_sociaux", "2026-03-20", "2027-03-19"),
        ("qpv", "2026-11-02", "2027-11-01"),
    ]


def test_a_market_marked_urban_renewal_carries_its_qpv_target_in_api_form_and_page(
    world,  # noqa: F811
    store,
):
    from clausier.auth.models import Role
    from clausier.markets.models import Market
    from tests.web.test_page_matrix import Browsers

    own = world.own
    body = {
        "ref": "MKT-ANRU-1", "title": "Réhabilitation du quartier des Provinces",
        "commune": own.market.commune_code, "cpv": "45454000", "amount": 900000,
        "qpv_target": 0.3, "lots": [{"number": 1, "title": "Gros œuvre", "amount": 900000}],
    }  # fmt: skip
    assert world.call(Role.buyer, "POST", "/api/markets", json=body).status_code == 201
    status = world.call(Role.buyer, "GET", "/api/markets/MKT-ANRU-1").json()
    assert D(status["qpv_target"]) == D("0.3")
    browsers = Browsers(world)
    form = {
        "ref": "MKT-ANRU-2", "buyer": own.buyer.siret, "title": "Voirie du quartier",
        "commune": "Cherbourg", "cpv": "45233140", "amount": "1 000", "qpv_target": "25",
        "lot_1_number": "1", "lot_1_title": "Chaussée", "lot_1_amount": "1000",
        "action": "enregistrer",
    }  # fmt: skip
    answer = browsers.call(Role.buyer, "POST", "/marches/nouveau", data=form)
    assert answer.status_code == 303, answer.text[:2000]
    with store.session() as session:
        from sqlmodel import select

        market = session.exec(select(Market).where(Market.ref == "MKT-ANRU-2")).one()
        assert market.qpv_target == D("0.25")
    page = browsers.call(Role.buyer, "GET", "/marches/MKT-ANRU-2").text
    assert "Renouvellement urbain (ANRU / NPNRU) : 25,0\u202f% des heures d'insertion" in page
    edit = browsers.call(Role.buyer, "GET", "/marches/MKT-ANRU-2/modifier").text
    assert 'name="qpv_target" value="25"' in edit
