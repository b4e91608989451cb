"""Coverage, for those it concerns: a buyer's markets and territory (EPCIs and communes covered
and not, on a map zoomed to its départements); a facilitator's structure territory and the
markets in it; and the page where a buyer settles an ambiguous market (« à arbitrer »)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from clausier import clock
from clausier.auth.policy import Action, require_to
from clausier.auth.scope import coverage_reach, market_condition, visible_market
from clausier.errors import AssignmentRefused, VersionConflict
from clausier.http.session import SessionDep
from clausier.markets.models import Market
from clausier.partners.models import STRUCTURE_KIND_LABELS, Buyer, Structure
from clausier.partnerships import assignment, periods
from clausier.partnerships.assignment import SETTLED_STATES
from clausier.partnerships.coverage import Coverage, CoverageStatus
from clausier.partnerships.models import (
    CONVENTION_STATUS_LABELS,
    SERVICE_LABELS,
    TERRITORY_KIND_LABELS,
    Convention,
    ConventionService,
    ConventionTerritory,
    Renewal,
    Service,
)
from clausier.partnerships.read import Convention as ConventionDocument
from clausier.partnerships.service import to_renew
from clausier.partnerships.territory import (
    departements_of,
    structure_markets,
    territory_coverage,
)
from clausier.referential.service import territory_name
from clausier.web.common import (
    STATIC,
    FormDep,
    WebDep,
    actor_of,
    check_csrf,
    form_text,
    principal_of,
    render,
)
from clausier.web.models import WebSession

router = APIRouter(include_in_schema=False)
MAP_SVG = (STATIC / "france-departements.svg").read_text(encoding="utf-8")
_DEPARTEMENT = re.compile(r'<path\s+id="([^"]+)"')
_PATH = re.compile(r'<path\s+id="([^"]+)"[^>]*?\sd="([^"]+)"', re.S)
_VIEWBOX = re.compile(r'viewBox="[^"]*"')
_TOKEN = re.compile(r"[mMzZ]|-?\d*\.?\d+")

WITH_ARTICLE = {"commune": "la commune", "epci": "l'EPCI", "departement": "le département"}
OVERSEAS = [
    ("971", "Guadeloupe"),
    ("972", "Martinique"),
    ("973", "Guyane"),
    ("974", "La Réunion"),
    ("976", "Mayotte"),
]


# --- the map --------------------------------------------------------------------------------


def _bounds(d: str) -> tuple[float, float, float, float]:
    """The bounds of a path drawn as the map's are: ``m`` (relative moves, then relative lines)
    and ``z`` (back to the subpath's start)."""
    x = y = start_x = start_y = 0.0
    xs, ys, numbers, first = [], [], [], False
    for token in _TOKEN.findall(d):
        if token in "mM":
            first, numbers = True, []
        elif token in "zZ":
            x, y = start_x, start_y
        else:
            numbers.append(float(token))
            if len(numbers) == 2:
                x, y = x + numbers[0], y + numbers[1]
                if first:
                    start_x, start_y, first = x, y, False
                xs.append(x)
                ys.append(y)
                numbers = []
    return min(xs), min(ys), max(xs), max(ys)


BOUNDS = {code: _bounds(d) for code, d in _PATH.findall(MAP_SVG)}


def view_box(departements: set[str]) -> str | None:
    """The map's viewBox framing these départements, with a margin; None for the whole map."""
    boxes = [BOUNDS[code] for code in departements if code in BOUNDS]
    if not boxes:
        return None
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    margin = max(right - left, bottom - top) * 0.08 + 4
    return (f"{left - margin:.1f} {top - margin:.1f} "
            f"{right - left + 2 * margin:.1f} {bottom - top + 2 * margin:.1f}")  # fmt: skip


def coloured_map(colours: dict[str, str], focus: set[str] | None = None) -> str:
    """The map with each département's class, which the style sheet colours (the pages' CSP
    allows no inline style), framed on ``focus`` (a viewBox computed here, on the server)."""
    svg = _DEPARTEMENT.sub(
        lambda m: f'{m[0]} class="{colours[m[1]]}"' if m[1] in colours else m[0], MAP_SVG
    )
    svg = svg.replace('aria-label="Map of France departments"', 'aria-hidden="true"', 1)
    box = view_box(focus or set())
    return _VIEWBOX.sub(f'viewBox="{box}"', svg, count=1) if box else svg


def _colour(counts: dict[str, int]) -> str:
    if counts["uncovered"]:
        return "partial" if counts["covered"] or counts["arbitrate"] else "uncovered"
    return "arbitrate" if counts["arbitrate"] else "covered"


# --- what the page says of a market and a territory --------------------------------------------


def _names(session: Session, ids) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(
        session.exec(select(Structure.id, Structure.name).where(Structure.id.in_(ids))).all()
    )


def _settled(market: Market, coverage: Coverage) -> bool:
    """An ambiguity the buyer has settled: its choice holds among the candidates."""
    return (
        coverage.status == CoverageStatus.ambiguous
        and market.assignment == "explicit"
        and market.structure_id in coverage.candidate_structures
    )


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} ou {names[-1]}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} et {names[-1]}"


def market_line(market: Market, coverage: Coverage, names: dict[int, str], *,
                structure_id: int | None = None) -> dict:  # fmt: skip
    """A market as the coverage page lists it; ``structure_id``: the structure whose territory
    is shown (a facilitator's page), which the words name « votre structure »."""

    def name(sid: int) -> str:
        return "votre structure" if sid == structure_id else names.get(sid, "?")

    place = coverage.place
    candidates = sorted(
        coverage.candidate_structures, key=lambda s: (s != structure_id, names.get(s, ""))
    )
    line = {"ref": market.ref, "title": market.title, "commune": place.label,
            "departement": place.departement_code, "departement_name": place.departement_name,
            "epci": place.epci_code or "", "arbitrate": False, "visible": True}  # fmt: skip
    if coverage.status == CoverageStatus.uncovered:
        line |= {"status": "uncovered", "label": "Non couvert", "detail": "aucune convention"}
    elif coverage.status == CoverageStatus.ambiguous and not _settled(market, coverage):
        line |= {"status": "arbitrate", "label": "À arbitrer", "arbitrate": True,
                 "detail": f"{_or([name(s) for s in candidates])}, à choisir par l'acheteur"}  # fmt: skip
    else:
        follower = market.structure_id or (
            coverage.chosen.convention.structure_id if coverage.chosen else None
        )
        if structure_id is not None and follower != structure_id:
            detail = (
                "suivi par une autre structure (convention plus précise ou choix de l'acheteur)"
            )
        else:
            detail = f"suivi par {name(follower)}" if follower else "couvert"
        if _settled(market, coverage):
            detail += ", au choix de l'acheteur"
        line |= {"status": "covered", "label": "Couvert", "detail": detail}
    return line


def _communes(count: int) -> str:
    return f"{count} commune" + ("s" if count > 1 else "")


def epci_line(epci, names: dict[int, str], *, structure_id: int | None) -> dict:
    """An EPCI of the territory: covered whole, in part (the communes named) or not."""

    def who(ids) -> str:
        if structure_id is not None:
            return "votre structure"
        return _and([names.get(s, "?") for s in ids])

    by = how = None
    if epci.level is not None:
        by = who(epci.structures)
        how = "leur propre convention" if epci.level == "epci" else "la convention du département"
        text = f"couvert en entier par {by} ({how.replace('leur', 'sa')})"
        if epci.ambiguous:
            text += " : deux structures au même niveau, l'acheteur choisit marché par marché"
    elif epci.named:
        text = f"couvert en partie : {_communes(len(epci.named))} sur {_communes(len(epci.named) + len(epci.uncovered))}"
    else:
        text = f"aucune convention sur ses {_communes(len(epci.uncovered))}"
    return {
        "code": epci.code,
        "name": epci.name,
        "status": epci.status,
        "text": text,
        "by": by,
        "how": how,
        "named": [
            {"label": c.label, "by": who(c.structures), "ambiguous": len(c.structures) > 1}
            for c in epci.named
        ],
        "uncovered": [f"{name} ({code})" for code, name in epci.uncovered],
    }


def _territory(session: Session, conventions, communes, markets_lines, names, *,
               structure_id: int | None, today: date) -> list[dict]:  # fmt: skip
    """The départements concerned, each with its EPCIs and the markets in them."""
    departements = departements_of(session, conventions, communes)
    by_epci = defaultdict(list)
    for line in markets_lines:
        by_epci[(line["departement"], line["epci"])].append(line)
    out = []
    for dep in territory_coverage(session, conventions, departements, on=today):
        # in full: an EPCI with markets, or covered in part; named in a line: the others
        blocks, covered, uncovered = [], defaultdict(list), []
        for epci in dep.epcis:
            row = epci_line(epci, names, structure_id=structure_id)
            row["markets"] = by_epci.get((dep.code, epci.code), [])
            if row["markets"] or row["status"] == "partial" or row["named"]:
                blocks.append(row)
            elif row["status"] == "covered":
                covered[(row["by"], row["how"])].append(row["name"])
            else:
                uncovered.append(row)
        out.append({"code": dep.code, "name": dep.name, "epcis": blocks,
                    "covered": sorted(covered.items()), "uncovered": uncovered,
                    "whole": bool(dep.structures)})  # fmt: skip
    return out


def _document(convention: Convention, today: date) -> ConventionDocument:
    """A convention as the API lists it (``GET /api/conventions``), as its model."""
    return ConventionDocument.model_validate(periods.convention_document(convention, today))


def _conventions_rows(session: Session, conventions: list[Convention], today: date) -> list[dict]:
    """A structure's conventions (their document), with the buyer and the territories they
    name beside."""
    buyers = dict(session.exec(select(Buyer.id, Buyer.name)).all()) if conventions else {}
    return [
        {
            "document": _document(c, today),
            "buyer": buyers.get(c.buyer_id, "?"),
            "territories": _territory_labels(session, c),
        }
        for c in conventions
    ]


def _territory_labels(session: Session, convention: Convention) -> list[str]:
    rows = session.exec(
        select(ConventionTerritory.kind, ConventionTerritory.code)
        .where(ConventionTerritory.convention_id == convention.id)
        .order_by(ConventionTerritory.kind, ConventionTerritory.code)
    ).all()
    return [f"{TERRITORY_KIND_LABELS[kind]} {territory_name(session, kind, code) or code} ({code})"
            for kind, code in rows]  # fmt: skip


def _map(territories: list[dict], colour_of: dict[str, str]) -> dict:
    focus = {dep["code"] for section in territories for dep in section["departements"]}
    return {
        "svg": coloured_map(colour_of, focus),
        "colours": colour_of,
        "overseas": [(code, name) for code, name in OVERSEAS if not focus or code in focus],
    }


@router.get("/couverture")
def coverage(request: Request, web: WebDep, session: SessionDep) -> Response:
    principal = principal_of(web)
    require_to(principal, Action.read_coverage)
    today = clock.today()
    buyer_id, structure_id = coverage_reach(principal)
    if structure_id is not None:
        return _structure_page(request, web, session, structure_id, today)
    buyers = ([session.get(Buyer, buyer_id)] if buyer_id
              else session.exec(select(Buyer).order_by(Buyer.name)).all())  # fmt: skip
    sections, counts = [], defaultdict(lambda: {"covered": 0, "arbitrate": 0, "uncovered": 0})
    for who in buyers:
        markets = session.exec(
            select(Market).where(Market.buyer_id == who.id, Market.state.not_in(SETTLED_STATES))
            .order_by(Market.ref)
        ).all()  # fmt: skip
        conventions = list(session.exec(
            select(Convention).where(Convention.buyer_id == who.id).order_by(Convention.ref)).all())  # fmt: skip
        names = _names(session, {c.structure_id for c in conventions}
                       | {m.structure_id for m in markets if m.structure_id})  # fmt: skip
        lines = [market_line(m, assignment.market_coverage(session, m, today=today), names)
                 for m in markets]  # fmt: skip
        for line in lines:
            counts[line["departement"]][line["status"]] += 1
        sections.append({
            "buyer": who.name,
            "departements": _territory(session, conventions, [m.commune_code for m in markets],
                                       lines, names, structure_id=None, today=today),
            "arbitrate": [line for line in lines if line["arbitrate"]],
            "expiring": [
                {"document": _document(c, today), "structure": names.get(c.structure_id, "?")}
                for c in conventions
                if to_renew(c, today=today, rules=request.app.state.settings.reminders,
                            recipient="buyer")  # the reminder's window, as the home pages
            ],
        })  # fmt: skip
    colours = {code: _colour(c) for code, c in counts.items()}
    return render(request, "couverture.html", web, view="buyer", sections=sections,
                  **_map(sections, colours))  # fmt: skip


def _structure_page(request: Request, web: WebSession, session: Session, structure_id: int,
                    today: date) -> Response:  # fmt: skip
    """A facilitator's page: its structure's conventions and their territory, the markets in it."""
    structure = session.get(Structure, structure_id)
    conventions = list(session.exec(
        select(Convention).where(Convention.structure_id == structure_id).order_by(Convention.ref)
    ).all())  # fmt: skip
    found = structure_markets(session, structure_id=structure_id, today=today)
    names = _names(session, {s for _m, cov in found for s in cov.candidate_structures}
                   | {m.structure_id for m, _c in found if m.structure_id})  # fmt: skip
    lines = [market_line(m, cov, names, structure_id=structure_id) for m, cov in found]
    visible = set(session.exec(select(Market.ref).where(
        market_condition(principal_of(web)), Market.ref.in_([m.ref for m, _c in found]))).all())  # fmt: skip
    for line in lines:
        line["visible"] = line["ref"] in visible
    section = {
        "buyer": None,
        "departements": _territory(session, conventions, [m.commune_code for m, _c in found], lines,
                                   names, structure_id=structure_id, today=today),
        "arbitrate": [line for line in lines if line["arbitrate"]],
        "expiring": [],
    }  # fmt: skip
    colours = {dep["code"]: "covered" if dep["whole"] else "partial"
               for dep in section["departements"]}  # fmt: skip
    return render(request, "couverture.html", web, view="structure", structure=structure,
                  conventions=_conventions_rows(session, conventions, today), sections=[section],
                  status_labels=CONVENTION_STATUS_LABELS,
                  **_map([section], colours))  # fmt: skip


# --- settling an ambiguous market --------------------------------------------------------------


def _candidates(session: Session, market: Market, coverage: Coverage, today: date) -> list[dict]:
    """The structures at the winning level, each with its conventions over the place."""
    ids = sorted(coverage.candidate_structures)
    structures = (
        {s.id: s for s in session.exec(select(Structure).where(Structure.id.in_(ids))).all()}
        if ids
        else {}
    )
    conventions = [
        cover.convention.id for sid in ids for cover in coverage.covers_for_structure(sid)
    ]
    services = defaultdict(set)
    for row in session.exec(
        select(ConventionService).where(ConventionService.convention_id.in_(conventions))
    ).all():
        services[row.convention_id].add(row.service)
    out = []
    for sid in sorted(ids, key=lambda s: structures[s].name):
        structure = structures[sid]
        covers = []
        by_convention: dict[int, dict] = {}
        for cover in coverage.covers_for_structure(sid):  # the most specific first
            c = cover.convention
            through = f"{WITH_ARTICLE[cover.kind]} {territory_name(session, cover.kind, cover.code) or cover.code} ({cover.code})"
            if c.id in by_convention:
                by_convention[c.id]["through"].append(through)
                continue
            by_convention[c.id] = {
                "ref": c.ref,
                "through": [through],
                "starts_on": c.starts_on,
                "until": periods.last_day_in_force(c, coverage.on),
                "renewal": "tacite" if c.renewal == Renewal.tacit else "expresse",
                "renewal_until": periods.renewal_cap(c),
                "services": [SERVICE_LABELS[s] for s in Service if s.value in services[c.id]],
                "missing": [SERVICE_LABELS[s] for s in Service if s.value not in services[c.id]],
                "hourly_cost": c.hourly_cost,
                "insertion_rate": c.insertion_rate,
            }  # fmt: skip
        covers = list(by_convention.values())
        out.append({
            "ref": structure.ref, "name": structure.name, "email": structure.email,
            "kind": STRUCTURE_KIND_LABELS.get(structure.kind, structure.kind),
            "chosen": _settled(market, coverage) and market.structure_id == sid,
            "conventions": covers,
        })  # fmt: skip
    return out


def _settling_page(request: Request, web: WebSession, session: Session, market: Market, *,
                   status: int = 200, error: str | None = None, saved: bool = False) -> Response:  # fmt: skip
    today = clock.today()
    coverage = assignment.market_coverage(session, market, today=today)
    follower = session.get(Structure, market.structure_id) if market.structure_id else None
    return render(
        request, "arbitrage.html", web, status=status, market=market, place=coverage.place,
        on=coverage.on, ambiguous=coverage.status == CoverageStatus.ambiguous,
        uncovered=coverage.status == CoverageStatus.uncovered,
        settled=_settled(market, coverage), follower=follower,
        candidates=_candidates(session, market, coverage, today), error=error, saved=saved,
    )  # fmt: skip


@router.get("/marches/{ref:ref}/arbitrage")
def settling(request: Request, ref: str, web: WebDep, session: SessionDep) -> Response:
    principal = principal_of(web)
    require_to(principal, Action.settle_coverage)
    market = visible_market(session, principal, ref)
    saved = request.query_params.get("choix") == "enregistre"
    return _settling_page(request, web, session, market, saved=saved)


@router.post("/marches/{ref:ref}/arbitrage")
def settle(request: Request, ref: str, web: WebDep, session: SessionDep, form: FormDep) -> Response:
    """The buyer's choice among the structures at the same level, on the version it saw: a
    choice made meanwhile refuses this one, in words, rather than replacing it unseen."""
    check_csrf(web, form_text(form.get("csrf")))
    principal = principal_of(web)
    require_to(principal, Action.settle_coverage)
    market = visible_market(session, principal, ref)
    chosen, version = form_text(form.get("structure")), form_text(form.get("version"))
    structure = (
        session.exec(select(Structure).where(Structure.ref == chosen)).first() if chosen else None
    )
    if not (version.isascii() and version.isdigit()):  # « ²⁰²⁶ » is a digit int() refuses
        return _settling_page(request, web, session, market, status=422, error=(
            "Version du marché : absente ou illisible. Rechargez la page et choisissez à nouveau."))  # fmt: skip
    if structure is None:
        return _settling_page(request, web, session, market, status=422, error=(
            "Structure : choisissez l'une des structures proposées ci-dessous."))  # fmt: skip
    try:
        assignment.settle(session, market, structure=structure, expected_version=int(version),
                          today=clock.today(), actor=actor_of(web))  # fmt: skip
    except VersionConflict:
        session.rollback()
        session.refresh(market)
        return _settling_page(request, web, session, market, status=409, error=(
            f"Le marché {market.ref} a changé pendant votre choix (quelqu'un d'autre a choisi une "
            "structure ou l'a fait avancer) : rien n'a été enregistré. Voici ce qu'il en est "
            "maintenant ; choisissez à nouveau si besoin."))  # fmt: skip
    except AssignmentRefused as refused:
        session.rollback()
        session.refresh(market)
        return _settling_page(request, web, session, market, status=409,
                              error=f"{refused} Rien n'a été enregistré.")  # fmt: skip
    session.commit()
    return RedirectResponse(f"/marches/{quote(ref)}/arbitrage?choix=enregistre", status_code=303)
