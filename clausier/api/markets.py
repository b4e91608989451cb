"""Markets: the buyer's status lookup, the list, and firing a trigger."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from sqlalchemy import func
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, select

from clausier import clock
from clausier.api.deps import (
    PageDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    caller,
    caller_async,
    read_as_caller,
)
from clausier.api.description import schema_ref
from clausier.api.errors import DOCUMENTED
from clausier.auth.models import Role
from clausier.auth.policy import may_fire
from clausier.auth.scope import market_condition, visible_market
from clausier.auth.writes import market_writer
from clausier.documents import Page
from clausier.loading.loader import commit_load
from clausier.loading.read import LoadSummary
from clausier.loading.rows import MarketRow
from clausier.markets.models import Market
from clausier.markets.read import MarketStatus, MarketSummary
from clausier.markets.seen import status_seen_by
from clausier.markets.status_cache import Fingerprint, market_in_reach, market_in_reach_async
from clausier.partners.models import Buyer
from workflow.engine import fire
from workflow.lifecycle import STATE_LABELS, TRIGGERS
from workflow.payloads import PAYLOADS

router = APIRouter(prefix="/api/markets", tags=["marchés"], responses=DOCUMENTED)


# a market as the loader reads it (clausier load): the loader checks it, after who may write it
MarketBody = Annotated[dict[str, Any], WithJsonSchema(schema_ref(MarketRow))]
Trigger = Annotated[str, WithJsonSchema({"type": "string", "enum": list(TRIGGERS)})]
# the data of one of the triggers, whose payload model checks it (clausier fire --data)
TriggerData = Annotated[
    dict[str, Any],
    WithJsonSchema({"anyOf": [schema_ref(model) for model in dict.fromkeys(PAYLOADS.values())]}),
]


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: TriggerData = Field(
        default_factory=dict, description="Les données du déclencheur (selon le déclencheur)"
    )
    expected_version: int | None = Field(
        default=None, description="Refusé (409) si le marché a changé depuis"
    )


def _summary(market: Market, buyer: Buyer) -> dict:
    return {
        "ref": market.ref,
        "title": market.title,
        "state": market.state,
        "state_label": STATE_LABELS[market.state],
        "commune": market.commune_code,
        "buyer": buyer.name,
        "version": market.version,
        "coverage_flag": market.coverage_flag,
    }


def _status(session, principal, market: Market, settings) -> dict:
    return status_seen_by(session, principal, market, settings=settings, now=clock.now())[0]


@router.get("", summary="Les marchés visibles par l'appelant", response_model=Page[MarketSummary])
def list_markets(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    state: str | None = None,
    commune: str | None = None,
) -> dict:
    query = (
        select(Market, Buyer)
        .join(Buyer, Buyer.id == Market.buyer_id)
        .where(market_condition(principal))
    )
    if state:
        query = query.where(Market.state == state)
    if commune:
        query = query.where(Market.commune_code == commune)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Market.ref).limit(page.limit).offset(page.offset)).all()
    return page.wrap([_summary(market, buyer) for market, buyer in rows], total)


@router.post(
    "",
    status_code=201,
    summary="Créer ou mettre à jour un marché et ses lots",
    response_model=LoadSummary,
    response_model_exclude_unset=True,  # a kind the load did not touch is absent
    description="Un acheteur crée ses marchés à l'état « identification » et ne les modifie "
    "qu'à cet état ; le marché d'un autre acheteur est introuvable (404). Seul l'import "
    "historique d'un administrateur fixe un état ultérieur. Chaque modification est historisée. "
    "Le marché a la forme d'un marché de clausier load ; `buyer` est celui de l'acheteur qui "
    "l'envoie (un administrateur le donne).",
)
def create_market(
    body: MarketBody, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict:
    writer = market_writer(principal)
    if principal.role == Role.buyer:  # its markets are filed under its own SIRET
        buyer = session.get(Buyer, principal.org_id)
        body = {**body, "buyer": buyer.siret}
    report = commit_load(
        session,
        {"markets": [body]},
        name="requête",
        actor=f"api:{principal.label}",
        writer=writer,
        settings=settings,
    )
    return report.as_dict()


@router.get(
    "/{ref:ref}",
    summary="Le suivi d'un marché : état, historique, lots et heures, tâches, rappels",
    response_model=MarketStatus,  # described only: the answer is bytes, never validated again
)
async def get_market(ref: str, request: Request, settings: SettingsDep) -> Response:
    """The buyers' most frequent read. Read again unchanged, it is served as it was kept
    (``markets.status_cache``), found on the event loop in two reads, the caller's token and the
    market's fingerprint. Otherwise it is built in one thread hop (``read_as_caller``). Either
    way it is answered as ready bytes: the document is JSON already, and FastAPI would validate
    its 10 kB against its model and copy it, in a thread hop of its own (docs/performance.md,
    throughput). ``MarketStatus`` describes it; the tests check the documents against it."""
    kept, now = request.app.state.status_cache, clock.now()
    found = await _found_on_the_loop(request, ref) if kept.keeps else None
    if found is not None:
        market_id, fingerprint = found
        body = kept.get(_kept_as(market_id, request.state.principal, now), fingerprint, now)
        if body is not None:
            return Response(body, media_type="application/json")

    def read(session, principal) -> Response:
        # the fingerprint read on the loop came first: a document built now is kept under it
        market_id, fingerprint = found or market_in_reach(session, market_condition(principal), ref)

        def build() -> tuple[bytes, Any]:
            market = visible_market(session, principal, ref)
            document, stale_at = status_seen_by(
                session, principal, market, settings=settings, now=now
            )
            return JSONResponse(document).body, stale_at

        body = kept.serve(_kept_as(market_id, principal, now), fingerprint, now, build)
        return Response(body, media_type="application/json")

    return await read_as_caller(request, read)


def _kept_as(market_id: int, principal, now) -> tuple:
    """What a kept document is kept for: the market, the caller's reach (its role and
    organisation, as ``auth.scope`` narrows and redacts), the day."""
    return market_id, principal.role, principal.org_id, now.astimezone(clock.PARIS).date()


async def _found_on_the_loop(request: Request, ref: str) -> tuple[int, Fingerprint] | None:
    """The market's id and fingerprint read without leaving the event loop, the caller
    authenticated there too: two reads. On SQLite, of a local file, on the loop's own connection
    (``db.engine.loop_reader``); on PostgreSQL, on an async connection, the loop serving others
    meanwhile (``db.engine.async_loop_reader``). None when the SQLite file is locked, or
    without async reads: the threadpool then reads them."""
    reads, on_loop = request.app.state.async_reader or (None, None)
    if reads is not None and on_loop is asyncio.get_running_loop():
        try:
            async with reads.connect() as connection:
                principal = await caller_async(request, connection)
                reach = market_condition(principal)
                return await market_in_reach_async(connection, reach, ref)
        except DBAPIError:  # the server gone: the threadpool's reads say what it is
            return None
    engine = request.app.state.loop_reader
    if engine is None:
        return None
    try:
        with Session(engine) as session:
            principal = caller(request, session)
            return market_in_reach(session, market_condition(principal), ref)
    except OperationalError:  # locked: read again in the threadpool, which waits for it
        return None


@router.post(
    "/{ref:ref}/transitions/{trigger}",
    summary="Faire avancer un marché dans son cycle de vie",
    response_model=MarketStatus,
    response_model_exclude_unset=True,  # ``outcomes`` is absent before the evaluation
)
def fire_trigger(
    ref: str,
    trigger: Trigger,
    body: Transition,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict:
    market = visible_market(session, principal, ref)
    may_fire(principal, trigger)
    fire(session, ref=market.ref, trigger=trigger, actor=f"{principal.role.value}:{principal.label}",
         data=body.data, expected_version=body.expected_version, settings=settings)  # fmt: skip
    session.commit()
    return _status(session, principal, market, settings)
