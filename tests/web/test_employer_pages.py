"""The contractor's pages say its workers' codes, modalities and hours, never why they are
eligible (« allocataire de minima sociaux », RQTH): the facilitators keep it from the employer.
Over plain HTTP, as the other execution pages (a browser adds nothing to what a page says)."""

from __future__ import annotations

from html import unescape

import pytest
from sqlmodel import select

from clausier.beneficiaries.vocabulary import PUBLICS
from clausier.markets.models import Market
from clausier.partners.models import Structure
from tests import factories as make
from tests.web.execution_world import MARKET, MONTH, csrf_of, prepare, signed_in

CRITERIA = ("minima_sociaux", "rqth")
SAID = (*CRITERIA, *(PUBLICS[c] for c in CRITERIA))


@pytest.fixture
def world(site):
    return prepare(site)


def test_a_contractor_declares_an_rsa_recipient_with_rqth_and_no_page_says_so(world):
    with world.store.session() as session:
        market = session.exec(select(Market).where(Market.ref == MARKET)).one()
        structure = session.get(Structure, market.structure_id)
        code = make.beneficiary(session, structure, public=CRITERIA, name="Nora Vasseur").code
        session.commit()
    month = f"/lots/{world.lot_id}/declarations/{MONTH}"
    with signed_in(world, "contractor") as client:
        saved = client.post(month, data={"csrf": csrf_of(client), "beneficiary-1": code,
                                         "modality-1": "direct_hire", "hours-1": "35"})  # fmt: skip
        assert saved.status_code == 303
        pages = {url: unescape(client.get(url).text)
                 for url in ("/lots", f"/lots/{world.lot_id}/declarations", month, f"/marches/{MARKET}")}  # fmt: skip
    assert code in pages[month] and "35" in pages[month]
    for url, page in pages.items():
        assert not [word for word in (*SAID, "Nora Vasseur") if word in page], url
    # the facilitators, who checked the criteria, read them on their review page
    with signed_in(world, "facilitator") as client:
        review = unescape(client.get("/controle").text)
    assert code in review and PUBLICS["rqth"] in review
