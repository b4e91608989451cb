"""A buyer's new convention (the loader's rules), a renewal against what was seen, the window
in which a convention is « to renew » (the reminder's), and territories found by name."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from clausier.config import get_settings
from clausier.errors import ConventionRefused, InvalidInput
from clausier.partnerships import periods
from clausier.partnerships import service as conventions
from clausier.partnerships.models import Convention
from clausier.referential import search
from notifications.settings import ReminderRule
from tests import factories as make


@pytest.fixture
def region(session, clock):
    return make.buyer(session, "Région Normandie")


def _raw(who, partner, **changes) -> dict:
    return {"ref": "CONV-2026-010", "buyer": who.siret, "structure": partner.ref,
            "starts_on": date(2026, 1, 1), "ends_on": date(2027, 12, 31), "renewal": "explicit",
            "territories": [make.SAINT_LO], "services": ["follow", "control"],
            "insertion_rate": None, "hourly_cost": None} | changes  # fmt: skip


def test_a_new_convention_covers_its_buyers_market_at_once(session, region):
    mde = make.structure(session, "mde")
    market = make.market(session, buyer=region, in_commune=make.SAINT_LO)
    assert market.coverage_flag == "uncovered"
    created = conventions.create(session, _raw(region, mde), today=date(2026, 11, 25), actor="t")
    assert (market.structure_id, market.convention_id, market.coverage_flag) == (
        mde.id,
        created.id,
        None,
    )


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"ends_on": date(2025, 12, 31)}, "ends_on", "la fin de la convention précède son début"),
        ({"territories": ["99999"]}, "territories", "« 99999 » n'est ni une commune"),
        ({"territories": []}, "territories", "au moins 1 élément"),
        ({"services": []}, "services", "au moins 1 élément"),
        ({"structure": "inconnue"}, "structure", "structure inconnue « inconnue »"),
        ({"ref": "CONV 1"}, "ref", "référence « CONV 1 » invalide"),
        ({"hourly_cost": 0}, "hourly_cost", "strictement supérieure à 0"),
    ],
)
def test_a_wrong_convention_is_refused_by_field_and_nothing_written(
    session, region, changes, field, words
):
    mde = make.structure(session, "mde")
    row, problems = conventions.convention_problems(session, _raw(region, mde, **changes))
    assert row is None and [f for f, _m in problems] == [field], problems
    assert words in problems[0][1]
    with pytest.raises(InvalidInput):
        conventions.create(session, _raw(region, mde, **changes), today=date(2026, 11, 25))
    assert session.exec(select(Convention).where(Convention.ref == "CONV-2026-010")).first() is None


def test_a_reference_is_given_once(session, region):
    mde = make.structure(session, "mde")
    conventions.create(session, _raw(region, mde), today=date(2026, 11, 25))
    _row, problems = conventions.convention_problems(session, _raw(region, mde))
    assert problems == [("ref", "la référence CONV-2026-010 est déjà celle d'une convention")]
    assert conventions.next_ref(session, 2026) == "CONV-2026-011"


def test_a_renewal_granted_meanwhile_is_not_granted_twice(session, region):
    mde = make.structure(session, "mde")
    convention = make.convention(session, buyer=region, structure=mde, renewal="explicit")
    conventions.renew(session, convention.ref, today=date(2026, 11, 25), expected_renewals=0)
    with pytest.raises(ConventionRefused, match=r"vient d'être renouvelée .* jusqu'au 31/12/2027"):
        conventions.renew(session, convention.ref, today=date(2026, 11, 25), expected_renewals=0)
    assert convention.renewals == 1


def test_to_renew_from_the_day_the_reminder_speaks(session, region):
    """The settings' rule (8 weeks before the end, to the buyer and to the structure)."""
    rules = get_settings().reminders
    mde = make.structure(session, "mde")
    explicit = make.convention(session, buyer=region, structure=mde, renewal="explicit")
    tacit = make.convention(session, buyer=region, structure=mde, renewal="tacit")
    first = conventions.notice_from(date(2026, 12, 31), rules, "buyer")
    assert first == date(2026, 11, 5)  # 8 weeks before: a Thursday, a business day
    for recipient in ("buyer", "structure"):
        assert not conventions.to_renew(
            explicit, today=date(2026, 11, 4), rules=rules, recipient=recipient
        )
        assert conventions.to_renew(
            explicit, today=date(2026, 11, 5), rules=rules, recipient=recipient
        )
    assert not conventions.to_renew(tacit, today=date(2026, 12, 1), rules=rules, recipient="buyer")
    within = Convention.buyer_id == region.id
    assert conventions.conventions_to_renew(session, today=date(2026, 12, 1), rules=rules,
                                            recipient="buyer", within=within) == [explicit]  # fmt: skip
    conventions.renew(session, explicit.ref, today=date(2026, 12, 1))
    assert not conventions.to_renew(
        explicit, today=date(2026, 12, 1), rules=rules, recipient="buyer"
    )
    assert periods.current_end(explicit, date(2026, 12, 1)) == date(2027, 12, 31)


def test_the_window_is_the_configured_reminders(session, region):
    rules = dict(get_settings().reminders)
    rules["convention_expiring_buyer"] = replace_rule(
        rules["convention_expiring_buyer"], before_weeks=2
    )
    assert conventions.notice_from(date(2026, 12, 31), rules, "buyer") == date(2026, 12, 17)
    assert conventions.notice_from(date(2026, 12, 31), rules, "structure") == date(2026, 11, 5)
    without = {name: rule for name, rule in rules.items() if rule.follows != "convention"}
    assert conventions.notice_from(date(2026, 12, 31), without, "buyer") is None


def replace_rule(rule: ReminderRule, **changes) -> ReminderRule:
    return ReminderRule.model_validate(rule.model_dump() | changes)


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("Saint-Lô", ("commune", "50502")),
        ("saint lo", ("commune", "50502")),
        ("Saint-Lô (commune 50502)", ("commune", "50502")),
        ("CA Saint-Lô Agglo", ("epci", "200066389")),
        ("Manche", ("departement", "50")),
        ("Calvados (département 14)", ("departement", "14")),
        ("14118", ("commune", "14118")),
    ],
)
def test_a_territory_is_found_by_its_name(session, typed, found):
    territory = search.named(session, typed)
    assert (territory.kind, territory.code) == found


def test_a_shared_name_or_an_unknown_one_is_refused_in_words(session):
    with pytest.raises(
        search.AmbiguousTerritoryName, match="désigne plusieurs territoires"
    ) as shared:
        search.named(session, "Saint-Martin")
    assert len(shared.value.candidates) > 1 and "(commune " in str(shared.value)
    with pytest.raises(search.UnknownTerritoryName, match="n'est ni une commune, ni un EPCI"):
        search.named(session, "Saint-Lôô")
