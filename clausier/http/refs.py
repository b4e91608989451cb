"""A reference in an address: « 2026/015 » is a market's number as buyers write it, so a route's
``{ref:ref}`` takes slashes (``REF_PATTERN`` allows them) — but not a segment that names a page
beneath the reference (``/marches/2026/015/offre`` is the offer of 2026/015, never the market
« 2026/015/offre »), whatever order the routes are tried in."""

from __future__ import annotations

import re

from starlette.convertors import Convertor, register_url_convertor

# the words of the addresses beneath a market, a convention or a structure
PAGE_WORDS = (
    "arbitrage", "declencher", "evaluation", "modifier", "offre", "renouveler", "resilier",
    "transitions", "facilitators",
)  # fmt: skip
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]*"


class RefConvertor(Convertor[str]):
    regex = rf"{_SEGMENT}(?:/(?!(?:{'|'.join(PAGE_WORDS)})(?:/|$)){_SEGMENT})*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("ref", RefConvertor())
PATTERN = re.compile(RefConvertor.regex)
