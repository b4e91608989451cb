"""The yearly report of a buyer, a structure, a territory or a market, as JSON or as a file."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from clausier import clock
from clausier.api.deps import PrincipalDep, SessionDep
from clausier.api.errors import DOCUMENTED
from clausier.auth.models import Role
from clausier.auth.scope import require
from clausier.errors import InvalidInput
from clausier.reports.access import scope_for
from clausier.reports.exports import XLSX_TYPE
from clausier.reports.files import report_file
from clausier.reports.indicators import SCOPE_KINDS, indicators
from clausier.reports.read import Report
from clausier.validation.identifiers import TERRITORY_PATTERN

router = APIRouter(prefix="/api/reports", tags=["rapports"], responses=DOCUMENTED)


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    html = "html"


FILES = {
    "text/csv": {"schema": {"type": "string"}},
    XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
    "text/html": {"schema": {"type": "string"}},
}
ScopeKey = Annotated[str | None, Query(max_length=200)]
# a code of the official table: its shape (whether it is in the table is the store's to say)
TerritoryKey = Annotated[
    str | None, Query(max_length=200, json_schema_extra={"pattern": TERRITORY_PATTERN})
]


@router.get(
    "",
    summary="Les indicateurs d'une année : heures prévues et validées, bénéficiaires, sorties",
    description=(
        "Un seul périmètre parmi `buyer` (SIRET ou nom), `structure` (référence ou nom), "
        "`territory` (code de commune, SIREN d'EPCI ou code de département) et `market` "
        "(référence). Un acheteur ne lit que ses marchés, un facilitateur ceux que suit sa "
        "structure ; un titulaire n'a pas de rapport. `format` : `json` (le document), `csv` "
        "(Excel en France : UTF-8 avec BOM, points-virgules, virgules décimales), `xlsx` ou "
        "`html` (une page autonome avec ses graphiques). Aucun nom de personne."
    ),
    response_model=Report,  # in JSON; a file is answered as it is
    responses={200: {"description": "Le rapport", "content": FILES}},
)
def get_report(
    session: SessionDep,
    principal: PrincipalDep,
    year: Annotated[int, Query(ge=2000, le=2100, description="Année civile")],
    buyer: ScopeKey = None,
    structure: ScopeKey = None,
    territory: TerritoryKey = None,
    market: ScopeKey = None,
    format: ReportFormat = ReportFormat.json,
) -> dict:
    require(principal, Role.buyer, Role.facilitator)
    asked = {
        kind: key.strip()
        for kind, key in zip(SCOPE_KINDS, (buyer, structure, territory, market), strict=True)
        if key is not None and key.strip()
    }
    if len(asked) != 1:
        raise InvalidInput(
            "Indiquez un périmètre, et un seul : buyer, structure, territory ou market "
            f"({len(asked)} reçu(s))."
        )
    [(kind, key)] = asked.items()
    scope, within, note = scope_for(session, principal, kind, key)
    report = indicators(
        session, scope, year, today=clock.today(), now=clock.now(), within=within, note=note
    )
    if format == ReportFormat.json:
        return report.as_dict()
    file = report_file(report, format.value)
    return Response(
        file.body, media_type=file.media_type, headers={"Content-Disposition": file.disposition}
    )
