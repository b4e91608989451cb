"""The market forms: create, edit, import (``clausier.web.routes.markets``). The world's markets
are in execution: their buyer may no longer change them (409), an operator may."""

from clausier.auth.models import Role

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor
WRITERS = {A: (200, 200), B: (200, 200), F: (403, 403), C: (403, 403)}


def _new(side):
    return ("/marches/nouveau", {"data": {
        "ref": f"MKT-NOUVEAU-{side.structure.ref}", "buyer": side.buyer.siret, "title": "Voirie",
        "commune": side.market.commune_code, "cpv": "45233140", "amount": "1 000",
        "lot_1_number": "1", "lot_1_title": "Chaussée", "lot_1_amount": "1000",
    }})  # fmt: skip


def _edit(side):
    return (f"/marches/{side.market.ref}/modifier", {"data": {
        "version": str(side.market.version), "buyer": side.buyer.siret,
        "title": "Réhabilitation du collège", "commune": side.market.commune_code,
        "cpv": side.market.cpv, "amount": str(side.market.amount),
        "lot_1_number": "1", "lot_1_title": "Lot 1", "lot_1_amount": "1000000",
        "lot_2_number": "2", "lot_2_title": "Lot 2", "lot_2_amount": "1000000",
    }})  # fmt: skip


def _import(side):
    content = (
        "ref;buyer;title;commune;cpv;amount\n"
        f"{side.market.ref};{side.buyer.siret};Réhabilitation du collège;"
        f"{side.market.commune_code};{side.market.cpv};{side.market.amount}\n"
    )
    return (
        "/marches/import",
        {"files": {"fichier": ("marches.csv", content.encode(), "text/csv")}},
    )


ENTRIES = {
    ("GET", "/marches/nouveau"): (lambda s: ("/marches/nouveau", {}), WRITERS),
    ("POST", "/marches/nouveau"): (_new, {A: (303, 303), B: (303, 303), F: (403, 403), C: (403, 403)}),
    ("GET", "/marches/{ref}/modifier"): (
        lambda s: (f"/marches/{s.market.ref}/modifier", {}),
        {A: (200, 200), B: (409, 404), F: (403, 404), C: (403, 404)},
    ),
    ("POST", "/marches/{ref}/modifier"): (_edit, {A: (303, 303), B: (409, 404), F: (403, 404), C: (403, 404)}),
    ("GET", "/marches/import"): (lambda s: ("/marches/import", {}), WRITERS),
    # the world's own market is past identification (409), the other buyer's is not found
    ("POST", "/marches/import"): (_import, {A: (200, 200), B: (409, 404), F: (403, 403), C: (403, 403)}),
}  # fmt: skip
