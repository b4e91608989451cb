"""``clausier worker``: APScheduler runs the sweep every few seconds, the planner (and the pruning
of market change marks) daily.

The scheduler only says *when*; what to send lives in the database, so a worker that dies loses
nothing: its leases expire and another worker takes the rows. A database that stops answering
(a server restarting, a connection dropped) is waited for, saying so in the log; one that
answers without tables stops the worker at once (``clausier init`` is missing).
"""

from __future__ import annotations

import logging
import time

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from clausier import clock
from clausier.clock import PARIS
from clausier.config import Settings
from clausier.db import changes, migrate
from clausier.errors import DatabaseNotInitialised
from notifications import sweep

log = logging.getLogger(__name__)

UNREACHABLE = "base de données injoignable (%s) : nouvel essai dans %s s"


def _trouble(error: DBAPIError) -> str | None:
    """What the driver said, when ``error`` is the database not answering (a connection refused
    or dropped, a file that cannot be opened); None for a fault of the statement itself."""
    if not (isinstance(error, OperationalError) or error.connection_invalidated):
        return None
    said = (str(error.orig).strip().splitlines() or [""])[0]  # not the statement it stopped
    return f"{error.orig.__class__.__name__} : {said}" if said else error.orig.__class__.__name__


def _without_schema(engine: Engine) -> bool:
    """The database answers and has no tables (an unreachable one is not known to lack them)."""
    try:
        return migrate.current_revision(engine) is None
    except DBAPIError:
        return False


def plan_until_done(engine: Engine, settings: Settings) -> int:
    """The planning pass, however long the database takes to answer: tried again with backoff
    (``outbox.reconnect_seconds``, doubled up to ``reconnect_max_seconds``), each failure logged
    in one line. Without tables: ``DatabaseNotInitialised`` at once, never a retry."""
    delay = settings.outbox.reconnect_seconds
    while True:
        try:
            return sweep.plan(engine, settings, clock.now())
        except DBAPIError as error:
            if _without_schema(engine):
                raise DatabaseNotInitialised(
                    engine.url.render_as_string(hide_password=True)
                ) from None
            cause = _trouble(error)
            if cause is None:
                raise
            log.warning(UNREACHABLE, cause, delay)
        time.sleep(delay)
        delay = min(delay * 2, settings.outbox.reconnect_max_seconds)


def _pass(engine: Engine, settings: Settings, worker: str, planning: bool) -> None:
    try:
        planned = plan_until_done(engine, settings) if planning else 0
        if planning:  # daily: the marks kept documents no longer need (db.changes)
            changes.prune(engine)
        report = sweep.run_once(engine, settings, worker=worker, now=clock.now(), planning=False)
        report.planned = planned
    except DBAPIError as error:
        cause = _trouble(error)
        if cause is None:
            log.exception("passage d'envoi des rappels en échec (le suivant aura lieu quand même)")
        else:  # the next sweep is the retry
            log.warning(UNREACHABLE, cause, settings.outbox.sweep_seconds)
        return
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
    plan_until_done(engine, settings)
    try:
        scheduler(engine, settings, worker=worker).start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker %s arrêté", worker)
