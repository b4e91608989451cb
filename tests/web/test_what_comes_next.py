"""« Et ensuite ? » on the market page and ``next_reminders`` in the API tell the truth: each
reminder says what it is about (its lot, its task) and whom it goes to, one whose time has
passed is not « prévu », and a contractor reads only the reminders it receives about its lots.

MKT-2026-019 (the example territory) is in execution with two lots, both holding a clause: lot 1
of Routes et Réseaux du Cotentin, lot 2 of Signalisation Manche Ouest. On 25 November 2026 at
10:00 the facilitator's overdue task already had a reminder due at 08:00."""

from __future__ import annotations

from datetime import datetime
from html import unescape

import httpx
import pytest

from clausier.clock import PARIS
from clausier.config import get_settings
from notifications import sweep
from tests.web.execution_world import MARKET, prepare, signed_in

LOT_1 = "lot 1 « Terrassements et chaussées »"
LOT_2 = "lot 2 « Signalisation et équipements de la route »"
DUE_LOT_1 = (
    f"Rappel « Relevé d'heures à déclarer » pour le titulaire, {LOT_1}, relevé de novembre 2026 :"
    " prévu le 07/12/2026 08:00"
)
DUE_LOT_2 = (
    f"Rappel « Relevé d'heures à déclarer » pour le titulaire, {LOT_2}, relevé de novembre 2026 :"
    " prévu le 07/12/2026 08:00"
)
OVERDUE_TASK = (
    "Rappel « Tâche en retard » pour la structure, tâche « Présenter des candidats au titulaire »"
)


@pytest.fixture
def world(site):
    return prepare(site)


def _page(world, who: str) -> str:
    with signed_in(world, who) as client:
        answer = client.get(f"/marches/{MARKET}")
        assert answer.status_code == 200
        return " ".join(unescape(answer.text).split())


def _status(world, who: str) -> dict:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"}
    answer = httpx.get(f"{world.url}/api/markets/{MARKET}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_declaration_reminders_of_two_lots_each_name_their_lot(world):
    page = _page(world, "facilitator")
    assert DUE_LOT_1 in page and DUE_LOT_2 in page
    # the statement to check is lot 1's: its task and the task's reminders say so
    assert "Contrôler le relevé d'heures déclaré par le titulaire — lot 1 « Terrassements" in page
    assert (
        "Rappel « Tâche bientôt due » pour la structure, tâche « Contrôler le relevé d'heures "
        f"déclaré par le titulaire » du {LOT_1} : prévu le 30/11/2026 08:00"
    ) in page
    due = [r for r in _status(world, "buyer")["next_reminders"] if r["rule"] == "declaration_due"]
    assert [(r["lot"], r["period"], r["recipient_role"], r["status"]) for r in due] == [
        ({"number": 1, "title": "Terrassements et chaussées"}, "2026-11", "contractor", "planned"),
        (
            {"number": 2, "title": "Signalisation et équipements de la route"},
            "2026-11",
            "contractor",
            "planned",
        ),
    ]
    assert [r["about"] for r in due] == [
        f"{LOT_1}, relevé de novembre 2026",
        f"{LOT_2}, relevé de novembre 2026",
    ]


def test_a_reminder_whose_time_has_passed_is_waiting_to_be_sent_not_planned(world, clock):
    # due at 08:00, it is 10:00 and no sweep has run yet
    page = _page(world, "facilitator")
    assert "prévu le 25/11/2026 08:00" not in page
    assert f"{OVERDUE_TASK} : en attente d'envoi depuis le 25/11/2026 08:00" in page
    assert "(envoi au prochain passage)" in page
    [first] = [r for r in _status(world, "buyer")["next_reminders"] if r["status"] == "waiting"]
    assert (first["rule"], first["task"]["kind"]) == ("task_overdue", "present_candidates")

    # after office hours the sweep hands nothing over: the page says when it will
    clock.move_to(datetime(2026, 11, 27, 19, 30, tzinfo=PARIS))  # a Friday evening
    page = _page(world, "facilitator")
    assert (
        f"{OVERDUE_TASK} : en attente d'envoi depuis le 25/11/2026 08:00 (envoi à la "
        "réouverture des bureaux, le 30/11/2026 08:00)"
    ) in page
    assert "prévu le 25/11/2026" not in page and "prévu le 27/11/2026" not in page

    # the Monday sweep hands it to the outbox: it is being sent, no longer waiting
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
    clock.move_to(monday)
    sweep.hand_over(world.store.engine, get_settings(), worker="test", now=monday,
                    report=sweep.SweepReport())  # fmt: skip
    page = _page(world, "facilitator")
    assert f"{OVERDUE_TASK} : en cours d'envoi" in page
    assert "en attente d'envoi" not in page


def test_a_contractor_reads_only_the_reminders_it_receives_about_its_own_lot(world):
    for who, own, other in (("contractor", LOT_1, LOT_2), ("other_contractor", LOT_2, LOT_1)):
        status = _status(world, who)
        reminders = status["next_reminders"]
        assert reminders and {r["recipient_role"] for r in reminders} == {"contractor"}, who
        assert {r["lot"]["number"] for r in reminders} == {1 if own == LOT_1 else 2}
        assert all(r["task"] is None for r in reminders)
        assert status["open_tasks"] == []
        page = _page(world, who)
        assert (DUE_LOT_1 if own == LOT_1 else DUE_LOT_2) in page
        assert other not in page
        assert "Tâche" not in page.split("Et ensuite ?")[1].split("Historique")[0]
