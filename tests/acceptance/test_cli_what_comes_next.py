"""``clausier tasks`` and ``clausier status`` name the lot a task or a reminder is about: two
lots behind pace are two tasks that say which lot each is. Run in-process on SQLite and
PostgreSQL, on the example data (MKT-2026-019: two lots in execution, both behind pace on
25 November 2026)."""

from __future__ import annotations

import json

from tests.acceptance.test_cli_stories import EXAMPLE, cli  # noqa: F401  (the fixture)

LOT_1 = "lot 1 « Terrassements et chaussées »"
LOT_2 = "lot 2 « Signalisation et équipements de la route »"
BEHIND = "Le titulaire est en retard sur les heures d'insertion : faire le point avec lui"


def test_two_lots_behind_pace_are_two_tasks_each_naming_its_lot(cli):  # noqa: F811
    cli("init")
    cli("load", str(EXAMPLE))
    cli("reminders", "run-once")  # the daily planning finds both lots behind pace
    listed = cli("tasks", "--market", "MKT-2026-019", "--kind", "review_pace").out
    lines = [line for line in listed.splitlines() if BEHIND in line]
    assert len(lines) == 2
    assert sorted(lot for line in lines for lot in (LOT_1, LOT_2) if lot in line) == [LOT_1, LOT_2]
    document = json.loads(cli("tasks", "--market", "MKT-2026-019", "--json").out)
    behind = [task for task in document["tasks"] if task["kind"] == "review_pace"]
    assert sorted(task["lot"]["number"] for task in behind) == [1, 2]
    assert sorted(task["label"] for task in behind) == [
        f"{BEHIND} — {LOT_1}",
        f"{BEHIND} — {LOT_2}",
    ]


def test_the_status_names_the_lot_of_each_reminder_and_what_it_waits_for(cli):  # noqa: F811
    cli("init")
    cli("load", str(EXAMPLE))
    shown = cli("status", "MKT-2026-019").out
    for lot in (LOT_1, LOT_2):
        assert (
            f"« Relevé d'heures à déclarer » pour le titulaire, {lot}, relevé de novembre 2026 : "
            "prévu le 07/12/2026 08:00"
        ) in shown
    # due at 08:00, it is 10:00: waiting for the sweep, not « prévu »
    assert "prévu le 25/11/2026 08:00" not in shown
    assert (
        "« Tâche en retard » pour la structure, tâche « Présenter des candidats au titulaire » : "
        "en attente d'envoi depuis le 25/11/2026 08:00 (envoi au prochain passage)"
    ) in shown
