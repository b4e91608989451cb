"""``clausier report``: the indicators of a year, on the terminal, as JSON, or as a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clausier import clock
from clausier.cli import runtime
from clausier.db.engine import session_scope
from clausier.errors import InvalidInput
from clausier.formatting import fr_number
from clausier.offers.instruments import named
from clausier.reports.files import FORMATS, report_file
from clausier.reports.html import fr_hours, fr_percent
from clausier.reports.indicators import SCOPE_KINDS, Report, indicators, resolve_scope


def report(
    buyer: Annotated[str | None, typer.Option("--buyer", help="Acheteur : SIRET ou nom.")] = None,
    structure: Annotated[
        str | None, typer.Option("--structure", help="Structure : référence ou nom.")
    ] = None,
    territory: Annotated[
        str | None,
        typer.Option(
            "--territory", help="Territoire : commune (50129), EPCI (SIREN) ou département (50)."
        ),
    ] = None,
    market: Annotated[str | None, typer.Option("--market", help="Référence d'un marché.")] = None,
    year: Annotated[
        int | None,
        typer.Option(
            "--year", help="Année civile, de 2000 à 2100 (par défaut : l'année en cours)."
        ),
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Un fichier : html, xlsx ou csv.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Fichier (ou dossier) où écrire le rapport."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Un document JSON sur la sortie standard.")
    ] = False,
) -> None:
    """Le bilan d'une année : heures prévues et validées, bénéficiaires, sorties (sans aucun nom)."""
    asked = {
        kind: key
        for kind, key in zip(SCOPE_KINDS, (buyer, structure, territory, market), strict=True)
        if key is not None and key.strip()
    }
    if len(asked) != 1:
        raise InvalidInput(
            "Indiquez un périmètre, et un seul : --buyer, --structure, --territory ou --market."
        )
    if year is not None and not 2000 <= year <= 2100:
        raise InvalidInput(f"--year {year} : attendu une année de 2000 à 2100.")
    if format is not None and format not in FORMATS:
        raise InvalidInput(f"--format « {format} » inconnu : html, xlsx ou csv.")
    if json_out and (format or output):
        raise InvalidInput("--json et --format s'excluent : choisissez l'un ou l'autre.")
    if output is not None and not format:
        format = output.suffix.lstrip(".").lower()  # rapport.xlsx says it all
        if format not in FORMATS:
            raise InvalidInput("--output écrit un fichier : précisez --format html, xlsx ou csv.")
    [(kind, key)] = asked.items()
    with session_scope(runtime.engine()) as session:
        scope = resolve_scope(session, kind, key)
        result = indicators(
            session, scope, year or clock.today().year, today=clock.today(), now=clock.now()
        )
    if json_out:
        runtime.emit_json(result.as_dict())
    elif format is None:
        print_report(result)
    else:
        _write(result, format, output)


def _write(result: Report, format: str, output: Path | None) -> None:
    file = report_file(result, format)
    if output is None and format != "xlsx":
        sys.stdout.buffer.write(file.body)
        sys.stdout.buffer.flush()
        return
    target = output or Path(file.name)  # a workbook is never poured on a terminal
    if target.is_dir():
        target = target / file.name
    try:
        target.write_bytes(file.body)
    except OSError as error:
        raise InvalidInput(f"Impossible d'écrire {target} : {error.strerror}.") from error
    runtime.say(f"Rapport {result.year} écrit dans {target}")


def print_report(result: Report) -> None:
    out = typer.echo
    year = result.year
    out(f"Bilan {year} de la clause sociale — {result.scope.kind_label} : {result.scope.label}")
    if result.note:
        out(f"  {result.note}")
    if not result.markets:
        out(f"  Aucun marché en exécution, en évaluation ou clôturé en {year}.")
        return
    out(
        f"  {len(result.markets)} marché(s), {result.lots} lot(s) avec clause — objectif total "
        f"{fr_hours(result.target)}"
    )
    out(
        f"  Heures prévues en {year} : {fr_hours(result.planned)} ; validées : "
        f"{fr_hours(result.validated)} ; taux de réalisation : {fr_percent(result.rate)}"
    )
    out(f"  Bénéficiaires : {fr_number(result.beneficiaries)}")
    for title, shares in (
        ("par public", result.by_public),
        ("par sexe", result.by_sex),
        ("par tranche d'âge", result.by_age_band),
        ("par modalité", result.by_modality),
        ("par type de contrat", result.by_contract_type),
    ):
        parts = [
            f"{share.label} {share.beneficiaries} ({fr_hours(share.hours)})"
            for share in shares
            if share.beneficiaries
        ]
        out(f"    {title} : {', '.join(parts) or 'aucun'}")
    for title, shares in (
        ("par modalité", result.by_modality),
        ("par type d'organisme", result.by_body_kind),
    ):
        parts = [f"{share.label} {fr_hours(share.hours)}" for share in shares if share.hours]
        out(f"  Heures validées {title} : {', '.join(parts) or 'aucune'}")
    out(
        f"  Par une structure d'insertion (EI, ACI, ETTI, AI, GEIQ) : "
        f"{fr_hours(result.integration_hours)} ({fr_percent(result.integration_share)} des heures "
        "validées)"
    )
    out("  Marchés :")
    for market in result.markets:
        out(
            f"    {market.ref} — {market.title} — {market.state_label} — prévues "
            f"{fr_hours(market.planned)}, validées {fr_hours(market.validated)} "
            f"({fr_percent(market.rate)}), {market.beneficiaries} bénéficiaire(s)"
        )
        for lot in market.lots:
            out(f"      lot {lot.number} — {lot.title} : {named(lot.instrument)}")
        if short := market.shortfall:
            penalty = (
                f", pénalité {fr_number(short.penalty)} € ({fr_number(short.missing)} h × "
                f"{fr_number(short.penalty_per_hour.per_hour)} €, {short.penalty_per_hour.source})"
                if short.penalty is not None
                else ", sans pénalité prévue"
            )
            out(
                f"      fin d'exécution ({short.status_label}) : {fr_hours(short.missing)} "
                f"manquantes sur {fr_hours(short.required)}{penalty}"
            )
    if result.shortfalls:
        penalty = (
            f", pénalités prévues {fr_number(result.penalty)} €"
            if result.penalty is not None
            else ""
        )
        out(
            f"  Fin d'exécution ({len(result.shortfalls)} marché(s) terminé(s)) : "
            f"{fr_hours(result.missing)} manquantes{penalty}"
        )
    outcomes = result.outcomes
    if outcomes.markets:
        counted = ", ".join(f"{row.label} {row.count}" for row in outcomes.by_outcome if row.count)
        out(
            f"  Sorties ({outcomes.markets} marché(s) en évaluation ou clôturé(s)) : "
            f"{outcomes.positive} positive{'s' if outcomes.positive > 1 else ''} sur "
            f"{outcomes.total} personne{'s' if outcomes.total > 1 else ''} concernée"
            f"{'s' if outcomes.total > 1 else ''} "
            f"({fr_percent(outcomes.positive_rate)}){' — ' + counted if counted else ''}"
        )
    else:
        out("  Sorties : aucun marché en évaluation ni clôturé.")
