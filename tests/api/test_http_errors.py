"""What the framework answers by itself (an unknown address, a wrong method, a body that is not
JSON) is said in French, in the shape of its channel: the API's JSON under /api, a page of the
site elsewhere."""

from __future__ import annotations

import re
from html import unescape

from clausier.auth.models import Role
from clausier.errors import UnknownRecord

ENGLISH = ("Not Found", "Method Not Allowed", "detail", "JSON decode error", "Expecting")


def _no_english(text: str) -> None:
    assert not [word for word in ENGLISH if word in text], text


def test_an_unknown_page_is_a_french_page_of_the_site(world):
    response = world.client.get("/nimporte-quoi")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = unescape(response.text)
    assert '<html lang="fr">' in page and "<title>Page introuvable — Clausier</title>" in page
    assert "Aucune page à l'adresse /nimporte-quoi" in page
    assert 'href="/static/clausier.css"' in page and "Retour à l'accueil" in page
    _no_english(page)


def _sign_in(world, role: Role) -> None:
    form = world.client.get("/connexion").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    world.client.post("/connexion/jeton", data={"token": world.tokens[role], "csrf": csrf})


def test_a_signed_in_person_keeps_the_menu_on_an_unknown_page(world):
    _sign_in(world, Role.buyer)
    page = world.client.get("/marches/MKT-1/offre/nimporte-quoi").text
    assert "Page introuvable" in page
    assert 'aria-label="Menu principal"' in page and "Se déconnecter" in page
    # a reference may hold slashes (« 2026/015 »): this one is a market nobody has
    page = world.client.get("/marches/MKT-1/nimporte-quoi").text
    assert "Marché introuvable : « MKT-1/nimporte-quoi »." in unescape(page)
    assert 'aria-label="Menu principal"' in page and "Se déconnecter" in page


def test_an_address_typed_with_a_wrong_kind_of_id_is_an_unknown_page(world):
    _sign_in(world, Role.contractor)
    response = world.client.get("/lots/abc/declarations")
    assert response.status_code == 404
    assert "Page introuvable" in response.text
    _no_english(response.text)


def test_a_form_address_opened_directly_says_so_in_french(world):
    response = world.client.get("/deconnexion")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert "elle ne s'ouvre pas directement" in unescape(response.text)
    _no_english(response.text)


def test_a_page_shows_the_address_it_was_given_as_text_never_as_html(world):
    page = world.client.get("/<script>alert(1)</script>").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_an_unknown_api_address_is_the_apis_french_error(world):
    response = world.call(Role.admin, "GET", "/api/nimporte-quoi")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {
            "type": "NotFound",
            "message": "Adresse inconnue de l'API : /api/nimporte-quoi (voir /openapi.json).",
        }
    }


def test_a_wrong_method_on_the_api_names_the_methods_accepted(world):
    response = world.call(Role.admin, "DELETE", "/api/markets")
    assert response.status_code == 405
    error = response.json()["error"]
    assert error["type"] == "MethodNotAllowed"
    assert error["message"] == (
        "Méthode DELETE non acceptée sur /api/markets ; acceptées : GET, POST."
    )
    assert response.headers["allow"] == "GET, POST"


def test_a_body_that_is_not_json_gets_its_line_and_column(world):
    body = '{\n  "buyers": [\n    {"siret": "12345678901234" "name": "X"}\n  ]\n}'
    response = world.call(
        Role.admin, "POST", "/api/load", content=body,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "InvalidInput"
    assert error["message"] == (
        "Données invalides : corps de requête illisible : JSON invalide (ligne 3, colonne 32)"
    )
    assert error["problems"] == [
        {"field": "body", "message": "corps de requête illisible : JSON invalide (ligne 3, colonne 32)"}
    ]  # fmt: skip
    _no_english(response.text)


def test_a_body_that_is_not_even_text_is_refused_in_french(world):
    response = world.call(
        Role.admin, "POST", "/api/load", content=b'{"buyers": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code in (400, 422)
    assert response.json()["error"]["message"].startswith("Données invalides : corps de requête")
    _no_english(response.text)


def test_a_refusal_met_on_a_page_is_a_page_not_the_apis_json(world):
    def refuses():
        raise UnknownRecord("Marché", "MKT-9999-999")

    world.client.app.add_api_route("/essai/refus", refuses, include_in_schema=False)
    world.client.app.add_api_route("/api/essai/refus", refuses, include_in_schema=False)
    page = world.client.get("/essai/refus")
    assert (page.status_code, page.headers["content-type"][:9]) == (404, "text/html")
    assert "<title>Introuvable — Clausier</title>" in page.text
    assert "Marché introuvable : « MKT-9999-999 »." in unescape(page.text)
    api = world.client.get("/api/essai/refus")
    assert api.json()["error"]["type"] == "UnknownRecord"
