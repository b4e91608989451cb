"""An iCalendar feed of a facilitator's open tasks, so deadlines show in the calendar they use."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from clausier.clock import PARIS
from clausier.config import TaskSettings
from clausier.tasks.service import QueueRow


def task_calendar(
    rows: list[QueueRow], *, settings: TaskSettings, name: str, now: datetime
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Clausier//Tâches des facilitateurs//FR")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", " ".join(name.split()))  # an X- property is not escaped: one line
    calendar.add("x-wr-timezone", "Europe/Paris")
    for row in rows:
        task, market = row.task, row.market
        label = row.label(settings.kinds)
        taken = "" if row.assignee else "[à prendre] "
        event = Event()
        event.add("uid", f"task-{task.id}@clausier")
        event.add("dtstamp", now)
        event.add(
            "dtstart", task.due_at.astimezone(PARIS).date()
        )  # an all-day event on the due day
        event.add("summary", f"{taken}{label} — {market.ref}")
        event.add(
            "description",
            f"{market.title}\nMarché {market.ref}, échéance le "
            f"{task.due_at.astimezone(PARIS):%d/%m/%Y à %H:%M}.\nTâche n° {task.id} : "
            f"clausier task done {task.id}",
        )
        event.add("categories", [task.kind])
        calendar.add_component(event)
    return calendar.to_ical()
