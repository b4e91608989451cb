"""E-mails in French, plain text and HTML (autoescaped), from Jinja2 templates.

Each rule's subject and templates see the variables of what the rule follows (``SAMPLES`` shows
them). With ``StrictUndefined`` an unknown variable is an error; ``template_problems`` renders
every rule with a sample at start-up, and again as an escalation and about a market no
structure follows (``variants``), so the error stops the start with the template's name, line
and variable instead of failing a send.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from notifications.settings import ReminderRule

if TYPE_CHECKING:
    from clausier.config import Settings

TEMPLATES = Path(__file__).parent / "templates"

_COMMON = {
    "escalated": False,
    "recipient": {"name": "Camille Martin", "email": "c.martin@mde.example", "role": "facilitator"},
    "contact": {"name": "Maison de l'emploi", "email": "clauses@mde.example"},
    "link": "http://127.0.0.1:8000/marches/MKT-0000",
}
_MARKET = {
    "ref": "MKT-0000", "title": "Exemple", "commune": "Caen", "state_label": "Exécution",
    "execution_ends_on": "31/12/2027",
}  # fmt: skip
_STRUCTURE = {"name": "Maison de l'emploi", "email": "clauses@mde.example"}
_BUYER = {"name": "Région", "email": "achats@region.example"}
SAMPLES: dict[str, dict[str, Any]] = {
    "task": {
        **_COMMON, "market": _MARKET, "structure": _STRUCTURE, "buyer": _BUYER,
        "task": {"id": 1, "kind": "prepare_offer", "label": "Préparer l'offre", "due_on": "01/02/2027", "late_days": 0},
    },
    "declaration": {
        **_COMMON, "market": _MARKET, "structure": _STRUCTURE, "buyer": _BUYER,
        "lot": {"number": 1, "title": "Gros œuvre", "hours": 700},
        "contractor": {"name": "Bâtiments SARL", "email": "contact@bat.example"},
        "period": {"code": "2027-06", "label": "juin 2027", "deadline": "10/07/2027"},
    },
    "pace": {
        **_COMMON, "market": _MARKET, "structure": _STRUCTURE, "buyer": _BUYER,
        "lot": {"number": 1, "title": "Gros œuvre", "hours": 700},
        "contractor": {"name": "Bâtiments SARL", "email": "contact@bat.example"},
        "pace": {"validated": "120", "expected": "210", "gap": "90", "on": "31/03/2027"},
    },
    "execution_end": {
        **_COMMON, "market": _MARKET, "structure": _STRUCTURE, "buyer": _BUYER,
        "lots": [{"number": 1, "title": "Gros œuvre", "hours": 700, "hours_validated": "350", "missing": "350"}],
        "missing_total": "350",
    },
    "shortfall": {
        **_COMMON, "market": _MARKET, "structure": _STRUCTURE, "buyer": _BUYER,
        "shortfall": {
            "final": True, "status_label": "définitif", "pending": [], "required": "1 000",
            "validated": "800", "missing": "200", "penalty_per_hour": "30 €",
            "penalty_source": "convention CONV-1", "penalty": "6 000 €",
            "lots": [{"number": 1, "title": "Gros œuvre", "required": "1 000", "validated": "800",
                      "missing": "200", "penalty": "6 000 €"}],
        },
    },
    "convention": {
        **_COMMON, "structure": _STRUCTURE, "buyer": _BUYER,
        "convention": {"ref": "CONV-1", "ends_on": "31/12/2027", "territory": "Manche (50)", "tacit": False},
    },
    "coverage": {**_COMMON, "market": _MARKET, "buyer": _BUYER, "structure": None},
    "digest": {
        **_COMMON,
        "items": [{"subject": "Sujet", "text": "Texte", "link": "http://127.0.0.1:8000/"}],
        "day": "25/11/2026",
    },
}  # fmt: skip


def variants(follows: str) -> list[tuple[str, dict[str, Any]]]:
    """The sample of ``follows``, and the cases its templates meet at send time as well: an
    escalated reminder, and one about a market no structure follows (``structure`` is None)."""
    sample = SAMPLES[follows]
    cases = [("", sample), (" (rappel escaladé)", {**sample, "escalated": True})]
    if "market" in sample and sample.get("structure") is not None:
        orphan = {**sample, "escalated": True, "structure": None}
        cases.append((" (rappel escaladé, marché qu'aucune structure ne suit)", orphan))
    if follows == "shortfall":  # a contract without a penalty
        shortfall = sample["shortfall"]
        bare = {**shortfall, "penalty_per_hour": None, "penalty_source": None, "penalty": None,
                "lots": [{**lot, "penalty": None} for lot in shortfall["lots"]]}  # fmt: skip
        cases.append((" (sans pénalité)", {**sample, "shortfall": bare}))
    return cases


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _environment(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
    )


_TEXT, _HTML, _LINE = _environment(False), _environment(True), _environment(False)


@lru_cache(maxsize=256)
def _subject(subject: str) -> jinja2.Template:
    """Compiled once: compiling a subject cost more than rendering its message's bodies."""
    return _LINE.from_string(subject)


def render(template: str, subject: str, context: dict[str, Any]) -> Rendered:
    line = _subject(subject).render(context)
    return Rendered(
        subject=" ".join(line.split()),
        text=_TEXT.get_template(f"{template}.txt.j2").render(context),
        html=_HTML.get_template(f"{template}.html.j2").render(context),
    )


def render_rule(rule: ReminderRule, context: dict[str, Any]) -> Rendered:
    return render(rule.template, rule.subject, context)


def _line_of(exc: BaseException, names: set[str]) -> int | None:
    line, traceback = None, exc.__traceback__ or sys.exc_info()[2]
    while traceback is not None:
        if Path(traceback.tb_frame.f_code.co_filename).name in names:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def template_problems(settings: Settings) -> list[str]:
    """Every rule rendered with a sample of its variables; the problems, in French."""
    problems = []
    checks = [
        (f"reminders.{name}", rule.template, rule.subject, rule.follows)
        for name, rule in settings.reminders.items()
    ]
    checks.append(("notifications.digest", "digest", "Vos rappels du {{ day }}", "digest"))
    for key, template, subject, follows in checks:
        names = {f"{template}.txt.j2", f"{template}.html.j2", "<template>"}
        for case, context in variants(follows):
            try:
                render(template, subject, context)
            except jinja2.TemplateNotFound as exc:
                problems.append(
                    f"clé « {key} » : modèle introuvable notifications/templates/{exc.name}"
                )
            except jinja2.TemplateSyntaxError as exc:
                problems.append(
                    f"clé « {key} » : modèle {exc.name or 'sujet'}, ligne {exc.lineno} : {exc.message}"
                )
            except jinja2.UndefinedError as exc:
                line = _line_of(exc, names)
                where = f", ligne {line}" if line else ""
                known = ", ".join(sorted(SAMPLES[follows]))
                problems.append(
                    f"clé « {key} » : modèle « {template} »{where}{case} : variable inconnue "
                    f"({exc.message}) ; variables d'un rappel qui suit « {follows} » : {known}"
                )
            else:
                continue
            break  # one problem per rule: the first case that fails names it
    return problems
