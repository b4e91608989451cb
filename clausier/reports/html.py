"""The report as HTML: one body template (``_rapport.html``) for the web page and for the file
the CLI writes, which carries its own CSS so that it opens anywhere, offline."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from clausier.formatting import fr_date, fr_moment, fr_number
from clausier.offers.instruments import named
from clausier.reports.charts import PUBLIC_SHORT_LABELS, bar_chart, cumulative_chart
from clausier.reports.exports import DEFINITIONS
from clausier.reports.indicators import Report

WEB = Path(__file__).parents[1] / "web"
TEMPLATES = WEB / "templates"
STYLESHEETS = (WEB / "static" / "clausier.css", WEB / "static" / "rapport.css")


def fr_percent(value: Decimal | None) -> str:
    """« 45,7 % »; « — » when there is nothing to divide by."""
    if value is None:
        return "—"
    return f"{fr_number(Decimal(value) * 100, 1)}\u202f%"


def fr_hours(value: Decimal | int) -> str:
    return f"{fr_number(value)}\u202fh"


FILTERS = {"fr_date": fr_date, "fr_moment": fr_moment, "fr_number": fr_number,
           "fr_percent": fr_percent, "fr_hours": fr_hours}  # fmt: skip


def context(report: Report, *, links: bool) -> dict:
    """What ``_rapport.html`` needs: the report, its charts; ``links`` to the market pages."""
    last = next((m for m in reversed(report.months) if m.elapsed), None)
    return {
        "report": report,
        "cumulative": cumulative_chart(report.months),
        "last_month": last,
        "publics": bar_chart(report.by_public, labels=PUBLIC_SHORT_LABELS),
        "publics_desc": "; ".join(
            f"{PUBLIC_SHORT_LABELS.get(s.code, s.label)} {s.beneficiaries}"
            for s in report.by_public
            if s.beneficiaries
        )
        or "aucun bénéficiaire",
        "modalities": bar_chart(report.by_modality, hours=True),
        "modalities_desc": "; ".join(
            f"{s.label} {fr_hours(s.hours)}" for s in report.by_modality if s.hours
        )
        or "aucune heure validée",
        "definitions": DEFINITIONS,
        "links": links,
        "instrument_label": named,  # a lot's instrument and its article, in words
    }


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters.update(FILTERS)
    return env


def render_file(report: Report) -> str:
    """A whole HTML document, its styles inlined: what ``clausier report --format html`` writes."""
    css = "\n".join(path.read_text(encoding="utf-8") for path in STYLESHEETS)
    template = _environment().get_template("rapport_fichier.html")
    return template.render(css=css, **context(report, links=False))
