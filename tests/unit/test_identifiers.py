import pytest

from clausier.errors import InvalidSiret
from clausier.validation.identifiers import check_siret, territory_kind_of


def test_a_valid_siret_passes_with_or_without_spaces():
    assert check_siret("412 345 670 00019") == "41234567000019"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("41234567000018", "clé de contrôle incorrecte"),
        ("4123456700001", "attendu : 14 chiffres, reçu 13"),
        ("4123456700001A", "attendu : 14 chiffres"),
        (41234567000019, "attendu : 14 chiffres entre guillemets"),
    ],
)
def test_a_wrong_siret_is_refused_with_the_reason(value, reason):
    with pytest.raises(InvalidSiret, match=reason):
        check_siret(value)


def test_la_poste_establishments_follow_their_own_rule():
    assert check_siret("35600000000048") == "35600000000048", "the head office passes Luhn"
    assert check_siret("35600000012346") == "35600000012346", "digits summing to a multiple of 5"
    with pytest.raises(InvalidSiret, match="règle La Poste"):
        check_siret("35600000012347")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("50129", "commune"), ("2A004", "commune"), ("200067205", "epci"), ("50", "departement"),
     ("2B", "departement"), ("971", "departement"), ("5012", None)],
)  # fmt: skip
def test_the_kind_of_a_territory_code(code, kind):
    assert territory_kind_of(code) == kind
