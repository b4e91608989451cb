"""``clausier offer``: the insertion offer of a market, computed step by step and stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clausier.cli import runtime
from clausier.db.engine import session_scope
from clausier.formatting import fr_number
from clausier.markets.models import CPV_SOURCES
from clausier.offers import service
from clausier.offers.clause import MODALITIES
from clausier.offers.formula import parse_cost, parse_share
from clausier.offers.instruments import INSTRUMENTS, named
from clausier.validation.numbers import LABOUR_SHARE
from workflow.engine import fire, market_by_ref


def offer(
    ref: Annotated[str, typer.Argument(help="Référence du marché.")],
    lot: Annotated[
        int | None, typer.Option("--lot", help="Numéro du lot (tous les lots sinon).")
    ] = None,
    rate: Annotated[str | None, typer.Option("--rate", help="Taux d'insertion, ex. 7 %.")] = None,
    labour_share: Annotated[
        str | None, typer.Option("--labour-share", help="Part de main-d'œuvre, ex. 45 %.")
    ] = None,
    hourly_cost: Annotated[
        str | None, typer.Option("--hourly-cost", help="Coût horaire moyen chargé, € HT.")
    ] = None,
    hours: Annotated[
        int | None, typer.Option("--hours", help="Nombre d'heures retenu (dérogation).")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Motif de la dérogation.")] = None,
    clause_file: Annotated[
        Path | None, typer.Option("--clause-file", help="Texte de clause modifié (fichier).")
    ] = None,
    modalities: Annotated[
        str | None,
        typer.Option(
            "--modalities",
            help=f"Modalités permises, séparées par des virgules : {', '.join(MODALITIES)}.",
        ),
    ] = None,
    instrument: Annotated[
        str | None,
        typer.Option(
            "--instrument",
            help="Instrument juridique de la clause : "
            + ", ".join(f"{code} ({i.article})" for code, i in INSTRUMENTS.items())
            + " ; condition d'exécution (L2112-2) par défaut.",
        ),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Qui agit (e-mail du facilitateur).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Un document JSON sur la sortie standard.")
    ] = False,
) -> None:
    """Calcule et enregistre l'offre d'insertion (heures et texte de clause), étape par étape.

    Sur un marché encore en identification, ouvre d'abord l'offre d'insertion (prepare_offer).
    """
    settings = runtime.settings().offer
    actor = actor or runtime.default_actor()
    with session_scope(runtime.engine()) as session:
        market = market_by_ref(session, ref)
        if market.state == "identification":
            fired = fire(session, ref=ref, trigger="prepare_offer", actor=actor)
            runtime.say(
                f"{ref} : Identification → Offre d'insertion (prepare_offer, version {fired.version})."
            )
        offers = service.prepare(
            session,
            market,
            settings=settings,
            actor=actor,
            lot_number=lot,
            insertion_rate=parse_share(rate, "Taux d'insertion") if rate else None,
            labour_share=parse_share(labour_share, "Part de main-d'œuvre", rule=LABOUR_SHARE)
            if labour_share
            else None,
            hourly_cost=parse_cost(hourly_cost, "Coût horaire") if hourly_cost else None,
            hours=hours,
            reason=reason,
            clause_text=service.read_clause_file(clause_file) if clause_file else None,
            modalities=[m.strip() for m in modalities.split(",") if m.strip()]
            if modalities
            else None,
            instrument=instrument.strip() if instrument else None,
        )
        documents = [
            {
                "lot": o.lot.number,
                "title": o.lot.title,
                "computation": o.computation.as_dict(),
                "hours": o.lot.hours,
                "override": o.override,
                "reason": o.lot.hours_override_reason,
                "clause_text": o.lot.clause_text,
                "instrument": o.lot.instrument,
            }
            for o in offers
        ]
        replaced = [o.lot.number for o in offers if o.replaced_edited_text]
    if json_out:
        runtime.emit_json({"market": ref, "lots": documents})
        return
    for doc in documents:
        typer.echo(f"Lot {doc['lot']} — {doc['title']}")
        computation = doc["computation"]
        typer.echo(f"  Code CPV : {computation['cpv']} ({CPV_SOURCES[computation['cpv_source']]})")
        for number, step in enumerate(doc["computation"]["steps"], start=1):
            typer.echo(f"  {number}. {step}")
        if doc["override"] is not None:
            typer.echo(
                f"  Dérogation : {fr_number(doc['override'])} heures retenues au lieu de "
                f"{fr_number(doc['computation']['hours'])} — motif : {doc['reason']}"
            )
        typer.echo(f"  Heures d'insertion retenues : {fr_number(doc['hours'])}")
        typer.echo(f"  Instrument : {named(doc['instrument'])}")
        typer.echo(
            "  Texte de clause : "
            + ("rédigé" if doc["clause_text"] else "aucun (le lot ne porte pas de clause)")
        )
    for number in replaced:
        runtime.say(
            f"Remarque : le texte de clause modifié à la main du lot {number} a été remplacé par le modèle."
        )
    runtime.say(f"Offre d'insertion de {ref} enregistrée.")
