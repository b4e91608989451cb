"""French text renderings of the status and coverage documents."""

from __future__ import annotations

from decimal import Decimal

import typer

from clausier.formatting import fr_amount, fr_date, fr_hours, fr_moment, fr_number
from clausier.partnerships.models import SERVICE_LABELS

ASSIGNMENT_LABELS = {"automatic": "assignation automatique", "explicit": "choix de l'acheteur"}
FLAG_LABELS = {
    "uncovered": "ATTENTION : aucune convention en vigueur ne couvre plus ce marché",
    "ambiguous": "ATTENTION : plusieurs structures le couvrent au même niveau, l'acheteur doit choisir",
}


def _until(renewal: str | None, last_day: str | None, cap: str | None = None) -> str:
    if renewal == "tacit" and cap:
        return (f", à reconduction tacite dans la limite du {fr_date(cap)} "
                f"(période en cours jusqu'au {fr_date(last_day)})")  # fmt: skip
    if renewal == "tacit":
        return f", à reconduction tacite (période en cours jusqu'au {fr_date(last_day)})"
    return f", à reconduction expresse, en vigueur jusqu'au {fr_date(last_day)}"


def print_status(doc: dict) -> None:
    out = typer.echo
    place = doc["place"]
    out(f"Marché {doc['ref']} — {doc['title']}")
    out(f"  Acheteur : {doc['buyer']['name']} (SIRET {doc['buyer']['siret']})")
    epci = f", {place['epci_name']}" if place["epci_name"] else ""
    out(
        f"  Lieu d'exécution : {place['name']} ({place['commune']}){epci}, {place['departement_name']}"
    )
    out(f"  Montant : {fr_amount(doc['amount'])} — CPV {doc['cpv']}")
    dates = doc["dates"]
    out(
        f"  Dates prévues : consultation {fr_date(dates['consultation_on'])}, attribution "
        f"{fr_date(dates['award_on'])}, exécution du {fr_date(dates['execution_starts_on'])} "
        f"au {fr_date(dates['execution_ends_on'])}"
    )
    out(f"  État : {doc['state_label']} ({doc['state']}), version {doc['version']}")
    structure, coverage = doc["structure"], doc["coverage"]
    if structure:
        how = ASSIGNMENT_LABELS.get(structure["assignment"] or "", "")
        convention = ""
        if structure["convention"]:
            convention = f", convention {structure['convention']}" + _until(
                structure["convention_renewal"], structure["convention_in_force_until"]
            )
        out(f"  Structure : {structure['name']} <{structure['email']}> ({how}{convention})")
    else:
        out("  Structure : aucune assignée")
    out(
        f"  Couverture au {fr_date(coverage['on'])} : {coverage['label']}"
        + (
            f" — candidates : {', '.join(coverage['candidates'])}"
            if coverage["status"] == "ambiguous"
            else ""
        )
    )
    if coverage["flag"]:
        out(f"  {FLAG_LABELS[coverage['flag']]}")
    if doc["exit_reason"]:
        out(f"  Motif : {doc['exit_reason']}")
    if doc["evaluation"]:
        out(f"  Bilan : {doc['evaluation']}")
    out("  Lots :")
    for lot in doc["lots"]:
        contractor = lot["contractor"]
        holder = (
            f" — titulaire : {contractor['name']} ({contractor['siret']})" if contractor else ""
        )
        clause = "clause rédigée" if lot["clause_text"] else "sans texte de clause"
        if lot["clause_edited"]:
            clause += " (modifiée à la main)"
        out(
            f"    {lot['number']}. {lot['title']} — {fr_amount(lot['amount'])} — "
            f"{fr_hours(lot['hours'])} d'insertion requises, {fr_hours(lot['hours_validated'])} "
            f"validées — {clause}{holder}"
        )
        if lot.get("hours") and lot.get("instrument_label"):
            out(f"       instrument : {lot['instrument_label']}")
        if lot.get("cpv_source") == "lot":  # a market split by trade: the lot's own CPV
            out(f"       CPV du lot : {lot['cpv']}")
        if lot["hours_override_reason"]:
            out(
                f"       dérogation : {fr_hours(lot['hours'])} au lieu de {fr_hours(lot['hours_computed'])} "
                f"calculées — motif : {lot['hours_override_reason']}"
            )
        elif lot["offer"] and lot["offer"]["below_floor"]:
            out(f"       sous le plancher de {lot['offer']['floor']} heures : pas de clause")
        pace = lot.get("progress")
        if pace and (pace["expected_on"] or Decimal(pace["submitted"])):
            expected = (
                f"{fr_hours(pace['expected'])} attendues au {fr_date(pace['expected_on'])}"
                if pace["expected_on"]
                else "aucun relevé encore dû"
            )
            behind = " — EN RETARD sur le rythme" if pace["behind"] else ""
            out(f"       rythme : {expected}, {fr_hours(pace['submitted'])} à contrôler{behind}")
    if short := doc.get("shortfall"):
        penalty = (
            f", pénalité {fr_number(short['penalty'])} € ({fr_number(short['missing'])} h × "
            f"{fr_number(short['penalty_per_hour'])} €, {short['penalty_source']})"
            if short["penalty"] is not None
            else ", sans pénalité prévue"
        )
        pending = f" ({' ; '.join(short['pending'])})" if short["pending"] else ""
        out(
            f"  Fin d'exécution ({short['status_label']}{pending}) : {fr_hours(short['missing'])} "
            f"manquantes sur {fr_hours(short['required'])}{penalty}"
        )
        for lot in short["lots"]:
            lot_penalty = f", {fr_number(lot['penalty'])} €" if lot["penalty"] is not None else ""
            out(f"    lot {lot['number']} : {fr_hours(lot['missing'])} manquantes{lot_penalty}")
    if doc.get("open_tasks"):
        out("  Tâches ouvertes :")
        for task in doc["open_tasks"]:
            late = " (EN RETARD)" if task["overdue"] else ""
            out(
                f"    #{task['id']} {task['label']} — échéance le {fr_moment(task['due_at'])}{late}"
            )
    if doc.get("next_reminders"):
        out("  Prochains rappels :")
        for reminder in doc["next_reminders"]:
            about = f", {reminder['about']}" if reminder["about"] else ""
            out(
                f"    « {reminder['label']} » pour {reminder['recipient_label']}{about} : "
                f"{reminder['status_label']}"
            )
    blocked = doc["blocked_triggers"]
    possible = [
        f"{t['trigger']} ({t['label']}"
        + (f", avec {' et '.join(t['needs'])})" if t["needs"] else ")")
        for t in doc["allowed_triggers"]
    ]
    none = "aucune pour l'instant" if blocked else "aucune (état final)"
    out("  Suites possibles : " + (", ".join(possible) or none))
    for t in blocked:
        out(f"  Bloqué : {t['trigger']} ({t['label']}) : {' ; '.join(t['reasons'])}")
    out("  Historique :")
    for entry in doc["history"]:
        origin = entry["from"] or "—"
        what = f"{origin} → {entry['to']}"
        if entry["from"] == entry["to"]:  # a change outside the lifecycle: what changed
            what = entry["label"] + (
                f" : {' ; '.join(entry['changes'])}" if entry["changes"] else ""
            )
        out(f"    {fr_moment(entry['at'])}  {what}  [{entry['trigger']}]  par {entry['actor']}")


def print_coverage(doc: dict) -> None:
    out = typer.echo
    out(f"Couverture au {fr_date(doc['on'])}")
    for section in doc["buyers"]:
        buyer = section["buyer"]
        out("")
        out(f"== {buyer['name']} (SIRET {buyer['siret']}) ==")
        out("Conventions :")
        if not section["conventions"]:
            out("  aucune")
        for c in section["conventions"]:
            places = ", ".join(f"{t['name']} ({t['code']})" for t in c["territories"])
            until = (
                _until(c["renewal"], c["in_force_until"], c["renewal_until"])
                if c["status"] == "active"
                else ""
            )
            out(f"  {c['ref']} — {c['structure_name']} — {c['status_label']}{until}")
            out(f"      territoire : {places}")
            out(f"      services : {', '.join(SERVICE_LABELS[s] for s in c['services'])}")
        out("Marchés en cours :")
        if not section["markets"]:
            out("  aucun")
        for m in section["markets"]:
            if m["status"] == "covered":
                who = m["structure_name"] or "?"
                detail = f"couvert — {who}"
            elif m["status"] == "ambiguous":
                chosen = (
                    f", assigné à {m['structure_name']} par l'acheteur"
                    if m["assignment"] == "explicit" and m["structure_name"]
                    else ", à arbitrer par l'acheteur"
                )
                detail = f"ambigu — {' / '.join(m['candidates'])}{chosen}"
            else:
                detail = "NON COUVERT"
            out(
                f"  {m['ref']} ({m['state_label']}) — {m['commune_name']} ({m['commune']}) — {detail}"
            )
        out("Communes sans convention (pas de facilitateur, pas de clause) :")
        if not section["gap"]:
            out("  aucune")
        for g in section["gap"]:
            epci = f", {g['epci_name']}" if g["epci_name"] else ""
            out(f"  {g['name']} ({g['commune']}{epci}) — marchés : {', '.join(g['markets'])}")
