"""What the execution pages share: the posted form, who acts, the message page, and a
beneficiary's name as the signed-in person may see it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from clausier.auth.tokens import Principal
from clausier.beneficiaries import service as beneficiaries
from clausier.beneficiaries.models import Beneficiary
from clausier.web.models import WebSession

MAX_ROWS = 300  # lines of one month's form


async def _form(request: Request) -> FormData:
    return await request.form(max_files=1, max_fields=MAX_ROWS * 5 + 20)


FormDep = Annotated[FormData, Depends(_form)]


def form_text(value) -> str:
    """A posted field, stripped; "" when absent or a file."""
    return value.strip() if isinstance(value, str) else ""


def actor_of(web: WebSession) -> str:
    """Who the history names: the facilitator's e-mail, else the session's party."""
    return web.person_email or f"{web.role}:{web.label}"


def blank_fields(values: dict[str, str], required: dict[str, str]) -> list[tuple[str, str]]:
    """(field, message) for each ``required`` field left blank, in their order."""
    return [(field, message) for field, message in required.items() if not values[field].strip()]


def name_for(person: Beneficiary, principal: Principal) -> str | None:
    """The name, for the facilitators of the structure that registered the person only."""
    return beneficiaries.visible_name(person, role=principal.role.value, org_id=principal.org_id)
