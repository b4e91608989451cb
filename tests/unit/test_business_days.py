from datetime import date

import pytest

from clausier.business_days import add_business_days, holiday_name, is_business_day

GOOD_FRIDAY_2027 = date(2027, 3, 26)


@pytest.mark.parametrize(
    ("departement", "expected"),
    [
        ("14", date(2027, 4, 5)),
        ("67", date(2027, 4, 6)),
        ("57", date(2027, 4, 6)),
        ("50", date(2027, 4, 5)),
    ],
)
def test_good_friday_rests_in_alsace_moselle_not_in_normandy(departement, expected):
    assert add_business_days(GOOD_FRIDAY_2027, 5, departement) == expected


def test_local_days_off():
    assert holiday_name(date(2027, 12, 26), "68") == "Saint-Étienne"
    assert is_business_day(date(2027, 12, 27), "68")
    assert holiday_name(date(2027, 5, 27), "971") == "Abolition de l'esclavage"
    assert is_business_day(date(2027, 5, 27), "972")
    assert holiday_name(date(2027, 5, 22), "972") == "Abolition de l'esclavage"


def test_counting_backwards_from_a_consultation_date():
    assert add_business_days(date(2027, 4, 9), -10, "14") == date(2027, 3, 25)
    assert add_business_days(date(2027, 4, 9), -10, "67") == date(2027, 3, 24)


def test_a_deadline_never_falls_on_a_day_off():
    assert add_business_days(date(2027, 5, 1), 0, "14") == date(
        2027, 5, 3
    )  # Labour Day, a Saturday
    assert add_business_days(date(2027, 5, 8), 0, "14") == date(2027, 5, 10)
    assert add_business_days(date(2027, 7, 14), 0, "50") == date(2027, 7, 15)
