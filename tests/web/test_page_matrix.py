"""Every page and form × every role × own and another organisation's data, on both stores.

The matrix is read from the page families' routers (``clausier.web.routes.FAMILIES``): a page or
a form added without its line in ``tests/web/page_matrix`` (and so without who may open or send
it decided) fails ``test_every_page_and_form_is_in_the_matrix``. Each family keeps its lines in
its own module there."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from clausier.auth.models import Role
from clausier.web.routes import FAMILIES
from tests.web.page_matrix import MATRIX
from tests.web.page_matrix.signin import PRE_SESSION

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor


def page_routes() -> set[tuple[str, str]]:
    return {
        (method, route.path_format)
        for family in FAMILIES
        for route in family.router.routes
        for method in route.methods - {"HEAD"}
    }


def test_every_page_and_form_is_in_the_matrix():
    assert page_routes() == set(MATRIX)


class Browsers:
    """One signed-in browser (cookies and CSRF token) per role, on the world's application."""

    def __init__(self, world) -> None:
        self.world, self.clients, self.csrf = world, {}, {}

    def client(self, role: Role) -> TestClient:
        if role not in self.clients:
            client = TestClient(self.world.client.app, follow_redirects=False)
            form = client.get("/connexion").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            answer = client.post(
                "/connexion/jeton", data={"token": self.world.tokens[role], "csrf": csrf}
            )
            assert answer.status_code == 303, answer.text
            page = client.get("/marches").text
            self.csrf[role] = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            self.clients[role] = client
        return self.clients[role]

    def call(self, role: Role, method: str, url: str, **kwargs):
        client = self.client(role)
        if method != "GET":
            data = {"csrf": self.csrf[role], **kwargs.get("data", {})}
            if data["csrf"] == PRE_SESSION:  # the sign-in page's own token, as a browser sends
                form = client.get("/connexion").text
                data["csrf"] = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            kwargs["data"] = data
        return client.request(method, url, **kwargs)


READS = sorted(endpoint for endpoint in MATRIX if endpoint[0] == "GET")
WRITES = sorted(endpoint for endpoint in MATRIX if endpoint[0] != "GET")


@pytest.mark.parametrize("endpoint", READS, ids=lambda e: f"{e[0]} {e[1]}")
def test_each_role_opens_its_own_pages_and_no_other(world, endpoint):
    browsers = Browsers(world)
    for role in (A, B, F, C):  # a read changes nothing: one world serves the four roles
        _reaches_own_data_only(world, browsers, endpoint, role)


@pytest.mark.parametrize("role", [A, B, F, C], ids=lambda r: r.value)
@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: f"{e[0]} {e[1]}")
def test_each_role_sends_its_own_forms_and_no_other(world, endpoint, role):
    _reaches_own_data_only(world, Browsers(world), endpoint, role)  # a fresh world each


def _reaches_own_data_only(world, browsers, endpoint, role) -> None:
    route, expected = MATRIX[endpoint]
    for side, status in zip((world.own, world.other), expected[role], strict=True):
        url, kwargs = route(side)
        response = browsers.call(role, endpoint[0], url, **kwargs)
        assert response.status_code == status, (
            endpoint,
            role,
            side is world.own,
            response.text[:2000],
        )
        if status in (403, 404):  # said in the site's layout, never the API's JSON
            assert response.headers["content-type"].startswith("text/html")
            assert "<main" in response.text
