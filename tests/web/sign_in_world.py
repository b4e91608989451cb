"""A buyer, a structure with its facilitator and a contractor, served by a real uvicorn on either
store, for the sign-in stories: tokens for the buyer and the facilitator, links read from the
outbox as the e-mail carries them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlmodel import func, select

from clausier import clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import Settings, SignInSettings, get_settings
from clausier.partners.models import Facilitator
from clausier.web.models import WebSession
from notifications.models import OutboxMessage
from tests import factories as make
from tests.serving import PATIENT, serving


@dataclass
class SignInWorld:
    url: str
    store: object
    settings: Settings
    buyer_email: str
    facilitator_email: str
    contractor_email: str
    facilitator_id: int
    buyer_id: int
    tokens: dict[str, str]
    token_ids: dict[str, int]

    def client(self) -> httpx.Client:
        return httpx.Client(timeout=PATIENT, base_url=self.url, follow_redirects=False)

    def sessions(self) -> int:
        with self.store.session() as session:
            return session.exec(select(func.count()).select_from(WebSession)).one()

    def links_sent_to(self, email: str) -> list[str]:
        """The sign-in links in the outbox for ``email``, as paths of this site."""
        with self.store.session() as session:
            bodies = session.exec(
                select(OutboxMessage.text_body)
                .where(OutboxMessage.idempotency_key.startswith("login:"))
                .where(func.lower(OutboxMessage.to_email) == email.lower())
                .order_by(OutboxMessage.id)
            ).all()
        return [re.search(r"http://[^/]+(/connexion/\S+)", body).group(1) for body in bodies]


def world_data(store, *, expires_at: datetime | None = None) -> dict:
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session)
        contractor = make.contractor(session)
        issued = {}
        for who, role, org in (("buyer", Role.buyer, buyer.siret),
                               ("facilitator", Role.facilitator, structure.ref)):  # fmt: skip
            issued[who] = tokens.create(
                session, role=role, org=org, expires_at=expires_at, now=clock.now()
            )
        session.commit()
        return {
            "buyer_email": buyer.email,
            "facilitator_email": f"f0@{structure.ref}.example",
            "contractor_email": contractor.email,
            "facilitator_id": _facilitator_id(session, structure.id),
            "buyer_id": buyer.id,
            "tokens": {who: secret for who, (secret, _row) in issued.items()},
            "token_ids": {who: row.id for who, (_secret, row) in issued.items()},
        }


def _facilitator_id(session, structure_id: int) -> int:
    return session.exec(
        select(Facilitator.id).where(Facilitator.structure_id == structure_id)
    ).one()


def settings_for(tmp_path, **sign_in) -> Settings:
    """The shipped settings, the maildir in the test's folder, and the sign-in limits given."""
    base = get_settings()
    return base.model_copy(
        update={
            "outbox": base.outbox.model_copy(update={"maildir": tmp_path / "outbox"}),
            "sign_in": SignInSettings(**{**base.sign_in.model_dump(), **sign_in}),
        }
    )


@contextmanager
def served(store, settings: Settings, data: dict, engine=None) -> Iterator[SignInWorld]:
    """The application on ``store`` (or on another ``engine`` of it, as a second process)."""
    with serving(create_app(engine or store.engine, settings)) as url:
        yield SignInWorld(url=url, store=store, settings=settings, **data)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def ask_link(client: httpx.Client, email: str) -> httpx.Response:
    form = client.get("/connexion").text
    return client.post("/connexion/lien", data={"email": email, "csrf": csrf_of(form)})


def try_token(client: httpx.Client, token: str) -> httpx.Response:
    form = client.get("/connexion").text
    return client.post("/connexion/jeton", data={"token": token, "csrf": csrf_of(form)})


def follow_link(client: httpx.Client, path: str) -> httpx.Response:
    """What a person does with the e-mail: open the link, then press « Se connecter »."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf": csrf_of(page.text)})
