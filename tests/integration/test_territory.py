"""What conventions cover, named EPCI by EPCI, and the markets in a structure's territory."""

from __future__ import annotations

from clausier import clock as product_clock
from clausier.partnerships.territory import departements_of, structure_markets, territory_coverage
from tests import factories as make


def test_each_epci_is_named_covered_whole_in_part_or_not(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        mde, plie, ville = (make.structure(session, ref) for ref in ("mde-t", "plie-t", "ville-t"))
        conventions = [make.convention(session, buyer=buyer, structure=s) for s in (mde, plie)]
        conventions.append(
            make.convention(session, buyer=buyer, structure=ville, covering=(make.SAINT_LO,))
        )
        assert departements_of(session, conventions) == {"50"}
        assert departements_of(session, conventions, [make.CAEN]) == {"50", "14"}
        (manche,) = territory_coverage(session, conventions, {"50"}, on=product_clock.today())
        epcis = {e.code: e for e in manche.epcis}
        whole = epcis[make.COTENTIN_EPCI]
        assert (whole.status, whole.level, whole.ambiguous) == ("covered", "epci", True)
        assert set(whole.structures) == {mde.id, plie.id} and whole.uncovered == ()
        part = epcis[make.SAINT_LO_EPCI]
        assert part.status == "partial"
        assert [(c.code, c.structures) for c in part.named] == [(make.SAINT_LO, (ville.id,))]
        assert part.uncovered and make.SAINT_LO not in {code for code, _ in part.uncovered}
        others = [e for e in manche.epcis if e.code not in (make.COTENTIN_EPCI, make.SAINT_LO_EPCI)]
        assert others and all(e.status == "uncovered" and e.uncovered for e in others)
        assert manche.name == "Manche" and manche.structures == ()


def test_a_structures_markets_are_those_its_conventions_cover(store, clock):
    with store.session() as session:
        region, other = make.buyer(session), make.buyer(session, "Autre acheteur")
        mde, plie = make.structure(session, "mde-m"), make.structure(session, "plie-m")
        make.convention(session, buyer=region, structure=mde)  # the CA du Cotentin
        make.convention(session, buyer=region, structure=plie, covering=(make.CHERBOURG,))
        make.convention(session, buyer=other, structure=plie)  # another buyer's, the same EPCI
        followed = make.market(session, buyer=region, in_commune=make.VALOGNES, ref="MKT-VAL")
        given_away = make.market(session, buyer=region, in_commune=make.CHERBOURG, ref="MKT-CHE")
        make.market(session, buyer=region, in_commune=make.SAINT_LO, ref="MKT-STL")  # outside
        make.market(session, buyer=make.buyer(session, "Sans lien"), ref="MKT-SANS")  # no partner
        found = structure_markets(session, structure_id=mde.id, today=product_clock.today())
        assert [m.ref for m, _coverage in found] == ["MKT-CHE", "MKT-VAL"]
        assert followed.structure_id == mde.id and given_away.structure_id == plie.id
