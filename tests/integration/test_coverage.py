"""Who covers a market: commune, EPCI or département, on the relevant date, never a silent pick."""

from __future__ import annotations

from datetime import date

import pytest

from clausier.errors import AssignmentRefused, ConventionRefused
from clausier.partnerships import assignment
from clausier.partnerships import service as conventions
from clausier.partnerships.report import coverage_report
from tests import factories as make


@pytest.fixture
def region(session, clock):
    return make.buyer(session, "Région Normandie")


@pytest.mark.parametrize(
    "territory",
    [make.CHERBOURG, make.COTENTIN_EPCI, make.MANCHE],
    ids=["commune", "epci", "departement"],
)
def test_a_convention_covers_its_communes_epcis_and_departements(session, region, territory):
    mde = make.structure(session, "mde")
    make.convention(session, buyer=region, structure=mde, covering=(territory,))
    market = make.market(session, buyer=region, in_commune=make.CHERBOURG)
    assert (market.structure_id, market.coverage_flag, market.assignment) == (
        mde.id,
        None,
        "automatic",
    )


def test_another_buyers_convention_covers_nothing(session, region):
    other = make.buyer(session, "Conseil départemental de la Manche")
    make.convention(
        session, buyer=other, structure=make.structure(session), covering=(make.MANCHE,)
    )
    market = make.market(session, buyer=region)
    assert (market.structure_id, market.coverage_flag) == (None, "uncovered")


def test_the_most_specific_territory_wins(session, region):
    departement, epci, commune = (make.structure(session, ref) for ref in ("cd50", "mde", "ville"))
    make.convention(session, buyer=region, structure=departement, covering=(make.MANCHE,))
    make.convention(session, buyer=region, structure=epci, covering=(make.COTENTIN_EPCI,))
    make.convention(session, buyer=region, structure=commune, covering=(make.VALOGNES,))
    assert make.market(session, buyer=region, in_commune=make.VALOGNES).structure_id == commune.id
    assert make.market(session, buyer=region, in_commune=make.CHERBOURG).structure_id == epci.id
    assert (
        make.market(session, buyer=region, in_commune=make.SAINT_LO).structure_id == departement.id
    )


def test_two_structures_at_the_same_level_are_an_ambiguity_the_buyer_resolves(
    session, region, clock
):
    mde, plie = make.structure(session, "mde"), make.structure(session, "plie", kind="plie")
    make.convention(session, buyer=region, structure=mde, covering=(make.COTENTIN_EPCI,))
    make.convention(session, buyer=region, structure=plie, covering=(make.COTENTIN_EPCI,))
    market = make.market(session, buyer=region)
    assert (market.structure_id, market.coverage_flag) == (None, "ambiguous")

    assignment.assign_explicitly(
        session, market, structure=plie, today=date(2026, 11, 25), actor="buyer"
    )
    assert (market.structure_id, market.assignment, market.coverage_flag) == (
        plie.id,
        "explicit",
        None,
    )
    assignment.refresh(session, market, today=date(2026, 11, 26))
    assert market.structure_id == plie.id, (
        "the buyer's choice holds while its convention is in force"
    )


def test_one_structure_with_two_conventions_is_no_ambiguity(session, region):
    mde = make.structure(session, "mde")
    make.convention(
        session,
        buyer=region,
        structure=mde,
        covering=(make.COTENTIN_EPCI,),
        ends_on=date(2026, 12, 31),
        renewal="explicit",
    )
    longer = make.convention(
        session,
        buyer=region,
        structure=mde,
        covering=(make.COTENTIN_EPCI,),
        ends_on=date(2027, 12, 31),
        renewal="explicit",
    )
    market = make.market(session, buyer=region)
    assert (market.structure_id, market.convention_id) == (mde.id, longer.id)


def test_a_structure_without_convention_there_cannot_be_assigned(session, region):
    make.convention(session, buyer=region, structure=make.structure(session, "mde"))
    stranger = make.structure(session, "ailleurs")
    market = make.market(session, buyer=region)
    with pytest.raises(AssignmentRefused, match="n'a aucune convention en vigueur"):
        assignment.assign_explicitly(
            session, market, structure=stranger, today=date(2026, 11, 25), actor="buyer"
        )


def test_coverage_is_checked_on_the_planned_consultation_date(session, region):
    """A convention signed for next year covers a market whose consultation is next year."""
    mde = make.structure(session, "mde")
    make.convention(
        session, buyer=region, structure=mde, starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31)
    )
    upcoming = make.market(session, buyer=region, consultation_on=date(2027, 2, 15))
    running = make.market(
        session, buyer=region, state="execution", consultation_on=date(2026, 3, 1)
    )
    assert upcoming.structure_id == mde.id
    assert running.coverage_flag == "uncovered"


def test_an_explicit_convention_expires_at_its_end_date_unless_renewed(session, region, clock):
    mde = make.structure(session, "mde")
    convention = make.convention(session, buyer=region, structure=mde, renewal="explicit")
    market = make.market(session, buyer=region, state="execution")
    assert market.structure_id == mde.id

    assignment.refresh(session, market, today=date(2027, 1, 1))
    assert (market.coverage_flag, market.structure_id) == ("uncovered", mde.id), (
        "flagged, history kept"
    )

    conventions.renew(session, convention.ref, today=date(2026, 12, 15))
    assignment.refresh(session, market, today=date(2027, 1, 1))
    assert (market.coverage_flag, market.convention_id) == (None, convention.id)
    assert convention.renewals == 1


def test_a_tacit_convention_renews_itself_until_terminated(session, region):
    mde = make.structure(session, "mde")
    convention = make.convention(session, buyer=region, structure=mde, renewal="tacit")
    market = make.market(session, buyer=region, state="execution")
    assignment.refresh(session, market, today=date(2029, 6, 1))
    assert market.coverage_flag is None
    with pytest.raises(ConventionRefused, match="se renouvelle tacitement"):
        conventions.renew(session, convention.ref, today=date(2026, 11, 25))

    changes = conventions.terminate(
        session, convention.ref, on=date(2027, 3, 1), today=date(2027, 3, 1)
    )
    assert [(c.ref, c.coverage_flag) for c in changes] == [(market.ref, "uncovered")]
    with pytest.raises(ConventionRefused, match="déjà résiliée à compter du 01/03/2027"):
        conventions.terminate(session, convention.ref, on=date(2027, 4, 1), today=date(2027, 4, 1))


def test_a_market_keeps_its_structure_while_the_assigning_convention_is_in_force(session, region):
    departement = make.structure(session, "cd50")
    make.convention(session, buyer=region, structure=departement, covering=(make.MANCHE,))
    market = make.market(session, buyer=region, state="execution")
    assert market.structure_id == departement.id
    mde = make.structure(session, "mde")
    make.convention(session, buyer=region, structure=mde, covering=(make.CHERBOURG,))
    assignment.refresh(session, market, today=date(2026, 12, 1))
    assert market.structure_id == departement.id


def test_a_second_structure_signed_at_the_same_level_is_flagged_for_the_buyer(session, region):
    """The market keeps the structure that follows it, but the buyer is told to choose: the
    coverage page, the list and the market page all say « à arbitrer », never « couvert »."""
    mde, plie = make.structure(session, "mde"), make.structure(session, "plie", kind="plie")
    make.convention(session, buyer=region, structure=mde, covering=(make.COTENTIN_EPCI,))
    market = make.market(session, buyer=region)
    assert (market.structure_id, market.coverage_flag) == (mde.id, None)

    make.convention(session, buyer=region, structure=plie, covering=(make.COTENTIN_EPCI,))
    assignment.refresh(session, market, today=date(2026, 11, 26))
    assert (market.structure_id, market.coverage_flag) == (mde.id, "ambiguous")

    assignment.assign_explicitly(
        session, market, structure=mde, today=date(2026, 11, 26), actor="buyer"
    )
    assignment.refresh(session, market, today=date(2026, 11, 27))
    assert (market.structure_id, market.coverage_flag) == (mde.id, None), "the buyer chose"


def test_a_lapsed_convention_hands_the_market_to_one_still_in_force(session, region):
    first, second = make.structure(session, "mde"), make.structure(session, "cd50")
    make.convention(
        session, buyer=region, structure=first, covering=(make.CHERBOURG,), renewal="explicit"
    )
    make.convention(
        session,
        buyer=region,
        structure=second,
        covering=(make.MANCHE,),
        ends_on=date(2027, 12, 31),
        renewal="explicit",
    )
    market = make.market(session, buyer=region, state="execution")
    assert market.structure_id == first.id
    assignment.refresh(session, market, today=date(2027, 1, 5))
    assert (market.structure_id, market.coverage_flag) == (second.id, None)


def test_renewing_an_expired_or_terminated_convention_is_refused(session, region):
    convention = make.convention(
        session, buyer=region, structure=make.structure(session), renewal="explicit"
    )
    with pytest.raises(ConventionRefused, match="a expiré le 31/12/2026"):
        conventions.renew(session, convention.ref, today=date(2027, 1, 2))
    conventions.terminate(session, convention.ref, on=date(2026, 6, 1), today=date(2026, 6, 1))
    with pytest.raises(ConventionRefused, match="résiliée à compter du 01/06/2026"):
        conventions.renew(session, convention.ref, today=date(2026, 6, 2))


def test_the_report_shows_the_gap_with_the_markets_affected(session, region, clock):
    make.convention(session, buyer=region, structure=make.structure(session, "mde"))
    make.market(session, buyer=region, ref="MKT-COVERED")
    make.market(session, buyer=region, ref="MKT-SAINT-LO-1", in_commune=make.SAINT_LO)
    make.market(session, buyer=region, ref="MKT-SAINT-LO-2", in_commune=make.SAINT_LO)
    make.market(session, buyer=region, ref="MKT-CLOSED", in_commune=make.CAEN, state="closed")
    report = coverage_report(session, today=date(2026, 11, 25), buyer=region)
    section = report["buyers"][0]
    assert section["gap"] == [
        {
            "commune": make.SAINT_LO,
            "name": "Saint-Lô",
            "epci_name": "CA Saint-Lô Agglo",
            "departement": "50",
            "markets": ["MKT-SAINT-LO-1", "MKT-SAINT-LO-2"],
        }
    ]
    assert {m["ref"]: m["status"] for m in section["markets"]} == {
        "MKT-COVERED": "covered",
        "MKT-SAINT-LO-1": "uncovered",
        "MKT-SAINT-LO-2": "uncovered",
    }
