"""``clausier worker``: APScheduler runs the sweep every few seconds and the planner daily.

The scheduler only says *when*; what to send lives in the database, so a worker that dies loses
nothing: its leases expire and another worker takes the rows.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from clausier import clock
from clausier.clock import PARIS
from clausier.config import Settings
from notifications import sweep

log = logging.getLogger(__name__)


def _pass(engine: Engine, settings: Settings, worker: str, planning: bool) -> None:
    try:
        report = sweep.run_once(engine, settings, worker=worker, now=clock.now(), planning=planning)
    except Exception:  # a pass that fails is logged; the next one runs anyway
        log.exception("passage d'envoi des rappels en échec (le suivant aura lieu quand même)")
        return
    if report.handed or report.delivered or report.failed or report.planned:
        log.info("passage : %s", report)


def scheduler(engine: Engine, settings: Settings, *, worker: str, blocking: bool = True):
    from apscheduler.schedulers.background import BackgroundScheduler

    chosen = BlockingScheduler if blocking else BackgroundScheduler
    jobs = chosen(timezone=PARIS)
    jobs.add_job(_pass, "interval", seconds=settings.outbox.sweep_seconds, args=(engine, settings, worker, False),
                 id="sweep", max_instances=1, coalesce=True, next_run_time=clock.now())  # fmt: skip
    start = settings.notifications.office_start
    jobs.add_job(_pass, "cron", hour=start.hour, minute=start.minute, args=(engine, settings, worker, True),
                 id="plan", max_instances=1, coalesce=True)  # fmt: skip
    return jobs


def run_forever(engine: Engine, settings: Settings, *, worker: str) -> None:
    log.info("worker %s : un passage toutes les %s s", worker, settings.outbox.sweep_seconds)
    sweep.plan(engine, settings, clock.now())
    try:
        scheduler(engine, settings, worker=worker).start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker %s arrêté", worker)
