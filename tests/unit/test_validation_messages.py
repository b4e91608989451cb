"""Pydantic's refusals reach people in French, choices and e-mail addresses included."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, EmailStr, Field, ValidationError

from clausier.validation.messages import french_message


class Person(BaseModel):
    email: EmailStr | None = None
    sex: Literal["F", "M"] | None = None
    publics: list[str] = Field(default_factory=list, min_length=1)


def message(**data) -> str:
    with pytest.raises(ValidationError) as refused:
        Person(**data)
    [error] = refused.value.errors()
    return french_message(error)


def test_a_choice_lists_its_values_in_french():
    assert message(sex="X", publics=["rsa"]) == "attendu : une de ces valeurs : 'F' ou 'M'"


def test_a_bad_e_mail_address_is_said_in_french():
    assert message(email="c.martin@", publics=["rsa"]) == (
        "attendu : une adresse e-mail valide, par exemple nom@exemple.fr"
    )


def test_one_element_is_singular():
    assert message(publics=[]) == "attendu : au moins 1 élément"
