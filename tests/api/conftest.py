"""Two organisations of each kind, a token per role for the first: every API test asks for the
first's data (its own) and the second's (another organisation's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from clausier import clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.declarations.models import DeclarationLine
from clausier.declarations.service import LineInput, declare
from clausier.markets.models import Lot, Market
from clausier.partners.models import Facilitator
from clausier.tasks.models import Task
from tests import factories as make


@dataclass
class Side:
    buyer: object
    structure: object
    contractor: object
    market: Market
    task: Task
    facilitator_email: str
    lot: Lot
    beneficiary: str  # a code registered by the structure
    line: DeclarationLine  # a line the contractor declared, to check
    facilitator_id: int = 0  # the facilitator of facilitator_email (the directory's pages)
    convention: object = None  # the buyer's convention with the structure (tacit renewal)


@dataclass
class World:
    own: Side
    other: Side
    tokens: dict[Role, str]
    client: TestClient

    def call(self, role: Role | None, method: str, url: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        headers |= kwargs.pop("headers", {})
        return self.client.request(method, url, headers=headers, **kwargs)


def _side(session, name: str, commune: str, territory: str) -> Side:
    buyer = make.buyer(session, f"Acheteur {name}")
    structure = make.structure(session, f"mde-{name}")
    convention = make.convention(session, buyer=buyer, structure=structure, covering=(territory,))
    contractor = make.contractor(session, f"Entreprise {name}")
    market = make.market(
        session, buyer=buyer, in_commune=commune, state="execution", awarded_to=contractor,
        execution_starts_on=date(2026, 9, 1), execution_ends_on=date(2027, 8, 31),
    )  # fmt: skip
    task = session.exec(select(Task).where(Task.market_id == market.id).order_by(Task.id)).first()
    lot = session.exec(select(Lot).where(Lot.market_id == market.id, Lot.number == 1)).one()
    person = make.beneficiary(session, structure, name=f"Personne {name}")
    declare(
        session, lot=lot, period="2026-09", lines=[LineInput(person.code, "direct_hire", 35)],
        actor="test", settings=get_settings(), today=clock.today(), now=clock.now(),
    )  # fmt: skip
    line = session.exec(select(DeclarationLine).where(DeclarationLine.lot_id == lot.id)).one()
    facilitator = session.exec(
        select(Facilitator.id).where(Facilitator.structure_id == structure.id)
    ).first()
    return Side(buyer, structure, contractor, market, task, f"f0@mde-{name}.example", lot,
                person.code, line, facilitator, convention)  # fmt: skip


@pytest.fixture
def world(store, clock):
    with store.session() as session:
        own = _side(session, "a", make.CHERBOURG, make.COTENTIN_EPCI)
        other = _side(session, "b", make.CAEN, make.CAEN_EPCI)
        orgs = {Role.admin: None, Role.buyer: own.buyer.siret, Role.facilitator: own.structure.ref,
                Role.contractor: own.contractor.siret}  # fmt: skip
        issued = {role: tokens.create(session, role=role, org=org, expires_at=None, now=clock_now())[0]
                  for role, org in orgs.items()}  # fmt: skip
        session.commit()
    app = create_app(store.engine, get_settings())
    with TestClient(app) as client:
        yield World(own, other, issued, client)


def clock_now():
    return clock.now()
