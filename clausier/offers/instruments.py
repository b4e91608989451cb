"""The legal instrument a lot's clause uses (Code de la commande publique, DOMAIN.md "Legal
anchors"): a condition of execution, a lot reserved to integration or disability employers, or
an award criterion. The product names the article; it gives no legal advice.

Codes are stored and exchanged (load file, API, CSV); labels and articles are what people read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    code: str
    article: str  # « article L2112-2 du Code de la commande publique »
    label: str  # what a list or a page says: « condition d'exécution »
    title: str  # the clause's heading


EXECUTION_CONDITION = "execution_condition"
INSTRUMENTS: dict[str, Instrument] = {
    i.code: i
    for i in (
        Instrument(
            EXECUTION_CONDITION, "L2112-2",
            "condition d'exécution",
            "Clause sociale d'insertion — condition d'exécution",
        ),
        Instrument(
            "reserved_siae", "L2113-13",
            "lot réservé aux structures d'insertion par l'activité économique",
            "Lot réservé aux structures d'insertion par l'activité économique",
        ),
        Instrument(
            "reserved_disability", "L2113-12",
            "lot réservé aux entreprises adaptées et aux ESAT",
            "Lot réservé aux entreprises adaptées et aux établissements et services d'aide par le travail",
        ),
        Instrument(
            "award_criterion", "R2152-7",
            "critère d'attribution",
            "Critère d'attribution relatif à l'insertion professionnelle",
        ),
    )
}  # fmt: skip
INSTRUMENT_CODES = tuple(INSTRUMENTS)


def article_words(code: str) -> str:
    """« article L2112-2 du Code de la commande publique »."""
    return f"article {INSTRUMENTS[code].article} du Code de la commande publique"


def named(code: str | None) -> str:
    """What a page or a report says of a lot's instrument: « condition d'exécution (article
    L2112-2 du Code de la commande publique) »."""
    instrument = INSTRUMENTS[code or EXECUTION_CONDITION]
    return f"{instrument.label} ({article_words(instrument.code)})"
