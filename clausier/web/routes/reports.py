"""The reports page: a person's yearly report (their buyer, their structure, or everything for an
operator), with its charts and the same report to download as XLSX, CSV or HTML."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from clausier import clock
from clausier.auth.policy import Action, require_to
from clausier.auth.scope import market_condition
from clausier.reports import html
from clausier.reports.access import own_scope
from clausier.reports.files import FORMATS, report_file
from clausier.reports.indicators import Report, indicators, report_years
from clausier.web.common import SessionDep, WebDep, principal_of, render

router = APIRouter(include_in_schema=False)

FIRST_YEAR, LAST_YEAR = 2000, 2100


def _year(raw: str | None) -> int | None:
    """The year asked for (this year by default); None when it is not a year."""
    if raw is None or not raw.strip():
        return clock.today().year
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{4}", text) or not FIRST_YEAR <= int(text) <= LAST_YEAR:  # not ²⁰²⁶
        return None
    return int(text)


def _report(request: Request, web, session, annee: str | None) -> Report | Response:
    principal = principal_of(web)
    require_to(principal, Action.read_reports)
    year = _year(annee)
    if year is None:
        return render(request, "message.html", web, status=400, title="Année invalide",
                     message=f"« {annee} » n'est pas une année entre {FIRST_YEAR} et {LAST_YEAR}.")  # fmt: skip
    return indicators(
        session, own_scope(session, principal), year, today=clock.today(), now=clock.now(),
        within=market_condition(principal),
    )  # fmt: skip


@router.get("/rapports")
def report_page(
    request: Request, web: WebDep, session: SessionDep, annee: str | None = None
) -> Response:
    report = _report(request, web, session, annee)
    if isinstance(report, Response):
        return report
    principal = principal_of(web)
    years = report_years(session, within=market_condition(principal), today=clock.today())
    if report.year not in years:
        years = sorted({*years, report.year})
    return render(request, "rapport.html", web, years=years, **html.context(report, links=True))


@router.get("/rapports/telecharger")
def report_download(
    request: Request, web: WebDep, session: SessionDep, annee: str | None = None,
    format: str = "xlsx",
) -> Response:  # fmt: skip
    if format not in FORMATS:
        return render(request, "message.html", web, status=400, title="Format inconnu",
                     message=f"Format « {format} » inconnu : xlsx, csv ou html.")  # fmt: skip
    report = _report(request, web, session, annee)
    if isinstance(report, Response):
        return report
    file = report_file(report, format)
    return Response(
        file.body, media_type=file.media_type, headers={"Content-Disposition": file.disposition}
    )
