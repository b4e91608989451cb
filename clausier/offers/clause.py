"""The clause text, rendered from a Jinja2 template in French.

The template sees only the variables ``clause_context`` builds; with ``StrictUndefined`` an
unknown variable is an error, and ``template_problem`` finds it at start-up (with a sample
context) rather than when a facilitator prepares an offer.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from clausier.config import OfferSettings
from clausier.errors import InvalidInput
from clausier.formatting import fr_date, fr_number
from clausier.offers.instruments import EXECUTION_CONDITION, INSTRUMENTS, article_words

SHIPPED = Path(__file__).parent / "templates" / "clause.txt.j2"
# the shipped text of each instrument (a configured ``clause_template`` serves them all, and
# sees ``instrument.code`` to tell them apart)
SHIPPED_BY_INSTRUMENT = {
    EXECUTION_CONDITION: SHIPPED,
    **{
        code: SHIPPED.with_name(f"clause_{code}.txt.j2")
        for code in INSTRUMENTS
        if code != EXECUTION_CONDITION
    },
}

MODALITY_LABELS = {
    "direct_hire": "embauche directe (CDI, CDD, contrat d'apprentissage ou de professionnalisation)",
    "placement": (
        "mise à disposition de salariés par une entreprise de travail temporaire d'insertion, "
        "une association intermédiaire, un GEIQ ou une entreprise de travail temporaire"
    ),
    "subcontracting": (
        "sous-traitance à une structure d'insertion par l'activité économique (entreprise "
        "d'insertion, atelier et chantier d'insertion), une entreprise adaptée ou un ESAT"
    ),
    "co_contracting": (
        "cotraitance avec une structure d'insertion par l'activité économique (entreprise "
        "d'insertion, atelier et chantier d'insertion), une entreprise adaptée ou un ESAT"
    ),
    "training": "heures de formation suivies par un bénéficiaire",
}
MODALITIES = tuple(MODALITY_LABELS)


def _template(settings: OfferSettings, instrument: str = EXECUTION_CONDITION) -> jinja2.Template:
    path = settings.clause_template or SHIPPED_BY_INSTRUMENT[instrument]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(path.parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # plain text for the tender documents, never HTML
    )
    return environment.get_template(path.name)


def clause_context(
    *,
    market: dict[str, Any],
    lot: dict[str, Any],
    hours: int,
    structure: dict[str, Any],
    buyer: dict[str, Any],
    modalities: list[str],
    settings: OfferSettings,
    instrument: str = EXECUTION_CONDITION,
    penalty_per_hour: Decimal | None = None,
) -> dict[str, Any]:
    """What the clause's template sees: ``instrument`` (code, article, label, title,
    article_words) names the legal ground; ``penalty`` is None unless the contract carries a
    penalty per missing hour (then ``penalty.text``: « 30 € »)."""
    starts, ends = market.get("execution_starts_on"), market.get("execution_ends_on")
    period = f"du {fr_date(starts)} au {fr_date(ends)}" if starts and ends else ""
    return {
        "market": market,
        "lot": lot,
        "hours": hours,
        "hours_text": f"{fr_number(hours)} heures",
        "structure": structure,
        "buyer": buyer,
        "modalities": [MODALITY_LABELS[m] for m in modalities],
        "declaration_day": settings.declaration_day,
        "execution_period": period,
        "instrument": {
            "code": instrument,
            "article": INSTRUMENTS[instrument].article,
            "label": INSTRUMENTS[instrument].label,
            "title": INSTRUMENTS[instrument].title,
            "article_words": article_words(instrument),
        },
        "penalty": None
        if penalty_per_hour is None
        else {"per_hour": str(penalty_per_hour), "text": f"{fr_number(penalty_per_hour)} €"},
    }


def render_clause(settings: OfferSettings, context: dict[str, Any]) -> str:
    instrument = context.get("instrument", {}).get("code", EXECUTION_CONDITION)
    return _template(settings, instrument).render(context).strip() + "\n"


def _sample(
    settings: OfferSettings, instrument: str = EXECUTION_CONDITION, penalty: Decimal | None = None
) -> dict[str, Any]:
    return clause_context(
        market={"ref": "MKT-0000", "title": "Exemple", "execution_starts_on": None, "execution_ends_on": None,
                "commune": "Caen", "cpv": "45000000"},
        lot={"number": 1, "title": "Lot exemple", "amount": "100000"},
        hours=100,
        structure={"name": "Structure", "email": "contact@structure.example"},
        buyer={"name": "Acheteur"},
        modalities=list(MODALITIES),
        settings=settings,
        instrument=instrument,
        penalty_per_hour=penalty,
    )  # fmt: skip


def template_problem(settings: OfferSettings) -> str | None:
    """What is wrong with the clause template, in French, or None."""
    path = settings.clause_template or SHIPPED
    try:
        # every instrument, with and without a penalty: each branch of a template is rendered
        for instrument in INSTRUMENTS:
            path = settings.clause_template or SHIPPED_BY_INSTRUMENT[instrument]
            for penalty in (None, Decimal(30)):
                render_clause(settings, _sample(settings, instrument, penalty))
    except jinja2.TemplateSyntaxError as exc:
        return f"modèle {path}, ligne {exc.lineno} : syntaxe Jinja2 incorrecte ({exc.message})"
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, path)
        where = f", ligne {line}" if line else ""
        known = ", ".join(sorted(_sample(settings)))
        return f"modèle {path}{where} : variable inconnue ({exc.message}). Variables disponibles : {known}"
    return None


def _template_line(exc: BaseException, path: Path) -> int | None:
    """The template line of the error: Jinja2 rewrites the traceback to point into it."""
    line = None
    traceback = exc.__traceback__ or sys.exc_info()[2]
    while traceback is not None:
        if Path(traceback.tb_frame.f_code.co_filename).name == path.name:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


# --- a clause text edited by the facilitator ------------------------------------------------------

# A person's text is rendered in a sandbox, and may only name variables ({{ hours_text }},
# {{ structure.email }}): no tags, filters, calls or literals, so nothing in it runs or loops.
_EDITED = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    finalize=lambda value: " ; ".join(value) if isinstance(value, list) else value,
)
_VARIABLE_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr)
EXAMPLE_VARIABLE = "{{ hours_text }}"


class ClauseTextRefused(InvalidInput):
    """Texte de clause refusé."""


def variables(context: dict[str, Any]) -> list[str]:
    """The names an edited text may use, dotted: hours_text, market.ref, structure.email…"""
    names = []
    for name, value in context.items():
        if isinstance(value, dict):
            names += [f"{name}.{key}" for key in value]
        else:
            names.append(name)
    return sorted(names)


def _dotted(node: nodes.Node) -> str:
    if isinstance(node, nodes.Getattr):
        return f"{_dotted(node.node)}.{node.attr}"
    return node.name


def _resolves(path: str, context: dict[str, Any]) -> bool:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return not isinstance(value, dict)  # {{ market }} alone is not a value to print


def render_edited_clause(text: str, context: dict[str, Any]) -> str:
    """An edited clause text with its variables replaced, or ``ClauseTextRefused`` saying in
    French what is wrong (the line, the unknown name, the names it may use)."""
    known = ", ".join(variables(context))
    try:
        tree = _EDITED.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise ClauseTextRefused(
            f"Texte de la clause, ligne {exc.lineno} : accolades mal formées. Une variable "
            f"s'écrit entre doubles accolades, par exemple {EXAMPLE_VARIABLE}."
        ) from exc
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _VARIABLE_NODES):
            raise ClauseTextRefused(
                f"Texte de la clause, ligne {node.lineno} : seules des variables sont permises "
                f"entre accolades, par exemple {EXAMPLE_VARIABLE} (ni {{% … %}}, ni filtre, "
                f"ni calcul). Variables disponibles : {known}."
            )
    for output in tree.find_all(nodes.Output):
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                continue
            path = _dotted(node)
            if not _resolves(path, context):
                raise ClauseTextRefused(
                    f"Texte de la clause, ligne {node.lineno} : variable inconnue « {path} ». "
                    f"Variables disponibles : {known}."
                )
    return _EDITED.from_string(tree).render(context).strip() + "\n"
