"""The example territory, plus what the execution pages need: a token for each party of
MKT-2026-019 (the Manche's road works, followed by the MEF du Cotentin) and two people the
facilitator registered, with names only the facilitators may read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy import func
from sqlmodel import select

from clausier import clock
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.beneficiaries.vocabulary import AGE_BANDS
from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.markets.models import Lot, Market
from clausier.partners.models import Buyer, Contractor, Structure
from tests import factories as make
from tests.serving import PATIENT

MARKET = "MKT-2026-019"
MONTH = "2026-11"  # the clock's month: started, so declarable
NAMES = {"alice": "Alice Testeuse", "bruno": "Bruno Essai"}


@dataclass
class World:
    url: str
    store: object
    tokens: dict[str, str]
    lot_id: int
    other_lot_id: int
    codes: dict[str, str]
    validated_before: Decimal
    submitted_before: Decimal

    def lot(self) -> Lot:
        with self.store.session() as session:
            return session.get(Lot, self.lot_id)

    def lines(self, period: str = MONTH) -> list[DeclarationLine]:
        with self.store.session() as session:
            return list(
                session.exec(
                    select(DeclarationLine).where(
                        DeclarationLine.lot_id == self.lot_id, DeclarationLine.period == period
                    )
                ).all()
            )


def prepare(site: dict) -> World:
    with site["store"].session() as session:
        market = session.exec(select(Market).where(Market.ref == MARKET)).one()
        lots = {
            lot.number: lot for lot in session.exec(select(Lot).where(Lot.market_id == market.id))
        }
        issued = {role.value: token for role, token in site["tokens"].items()}
        # lot 1 is Routes et Réseaux du Cotentin's, lot 2 Signalisation Manche Ouest's
        for name, number in (("contractor", 1), ("other_contractor", 2)):
            holder = session.get(Contractor, lots[number].contractor_id)
            issued[name] = _token(session, Role.contractor, holder.siret)
        issued["buyer"] = _token(session, Role.buyer, session.get(Buyer, market.buyer_id).siret)
        structure = session.get(Structure, market.structure_id)
        codes = {
            key: make.beneficiary(
                session, structure, name=name, age_band=next(iter(AGE_BANDS))
            ).code
            for key, name in NAMES.items()
        }
        submitted = session.exec(
            select(func.coalesce(func.sum(DeclarationLine.hours), 0)).where(
                DeclarationLine.lot_id == lots[1].id,
                DeclarationLine.status == LineStatus.submitted,
            )
        ).one()
        session.commit()
        return World(site["url"], site["store"], issued, lots[1].id, lots[2].id, codes,
                     lots[1].hours_validated, Decimal(submitted))  # fmt: skip


def _token(session, role: Role, org: str) -> str:
    return tokens.create(session, role=role, org=org, expires_at=None, now=clock.now())[0]


@contextmanager
def signed_in(world: World, who: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in with ``who``'s token (no redirects followed)."""
    with httpx.Client(timeout=PATIENT, base_url=world.url, follow_redirects=False) as client:
        page = client.get("/connexion").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        answer = client.post("/connexion/jeton", data={"token": world.tokens[who], "csrf": csrf})
        assert answer.status_code == 303, answer.text
        yield client


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF token, from the sign-out form every page carries."""
    page = client.get("/marches").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


@contextmanager
def signed_in_client(site: dict, role: Role) -> Iterator[tuple[httpx.Client, str]]:
    """An HTTP client signed in with ``site``'s token for ``role``, and its form token."""
    with httpx.Client(timeout=PATIENT, base_url=site["url"], follow_redirects=False) as client:
        page = client.get("/connexion").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        answer = client.post("/connexion/jeton", data={"token": site["tokens"][role], "csrf": csrf})
        assert answer.status_code == 303, answer.text
        yield client, csrf_of(client)
