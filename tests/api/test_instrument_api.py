"""Through the API: a buyer posts a market whose lot is an award criterion (R2152-7), an operator
loads a buyer's and a convention's penalty per missing hour; the status says which instrument,
and a wrong one is a 422 in French."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from clausier.auth.models import Role
from clausier.partners.models import Buyer
from tests.api.test_market_writes import new_market


def test_a_buyer_posts_a_lot_whose_clause_is_an_award_criterion(world, store):
    lots = [
        {"number": 1, "title": "Chaussée", "amount": 100000, "instrument": "award_criterion"},
        {"number": 2, "title": "Signalisation", "amount": 50000},
    ]
    response = world.call(Role.buyer, "POST", "/api/markets", json=new_market(world, lots=lots))
    assert response.status_code == 201, response.text
    status = world.call(Role.buyer, "GET", "/api/markets/MKT-2027-NEUF").json()
    assert [(lot["instrument"], lot["instrument_label"]) for lot in status["lots"]] == [
        ("award_criterion", "critère d'attribution (article R2152-7 du Code de la commande publique)"),
        ("execution_condition", "condition d'exécution (article L2112-2 du Code de la commande publique)"),
    ]  # fmt: skip
    wrong = [{"number": 1, "title": "Chaussée", "amount": 100000, "instrument": "reserve"}]
    refused = world.call(
        Role.buyer, "POST", "/api/markets", json=new_market(world, ref="MKT-2027-FAUX", lots=wrong)
    )
    assert refused.status_code == 422 and "instrument" in refused.text


def test_an_operator_loads_a_buyers_penalty_per_missing_hour(world, store):
    buyer = world.own.buyer
    row = {"siret": buyer.siret, "name": buyer.name, "email": buyer.email, "penalty_per_hour": 30}
    response = world.call(Role.admin, "POST", "/api/load", json={"buyers": [row]})
    assert response.status_code in (200, 201), response.text
    with store.session() as session:
        assert session.exec(
            select(Buyer.penalty_per_hour).where(Buyer.siret == buyer.siret)
        ).one() == Decimal(30)
    too_much = world.call(
        Role.admin, "POST", "/api/load", json={"buyers": [row | {"penalty_per_hour": 1500}]}
    )
    assert too_much.status_code == 422
    assert "attendu : une valeur inférieure ou égale à 1000" in too_much.json()["error"]["message"]
