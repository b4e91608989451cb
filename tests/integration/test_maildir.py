"""The local maildir is made whole whatever exists of it; what cannot be fixed by Clausier is
said in French, naming the path and what to do, and the messages stay pending."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from threading import Thread

import pytest
from sqlmodel import select

from clausier.clock import PARIS
from clausier.config import Settings
from notifications import sweep
from notifications.messages import Composed, compose
from notifications.models import OutboxMessage
from notifications.settings import OutboxSettings
from notifications.transports import MaildirTransport
from tests.integration.test_faults import allow_writes, refuse_writes
from tests.integration.test_reminder_workers import uncovered_markets

MORNING = datetime(2026, 11, 25, 10, tzinfo=PARIS).astimezone(UTC)


def deliver(store, maildir: Path) -> sweep.SweepReport:
    settings = Settings(outbox=OutboxSettings(transport="maildir", maildir=maildir))
    return sweep.run_once(store.engine, settings, worker="w", now=MORNING)


def statuses(store) -> list[str]:
    with store.session() as session:
        return list(session.exec(select(OutboxMessage.status).order_by(OutboxMessage.id)).all())


@pytest.mark.parametrize(
    "present",
    [(), ("new",), ("new", "cur"), ("tmp",)],
    ids=["rien", "new-seul-comme-un-clone", "sans-tmp", "tmp-seul"],
)
def test_whatever_part_of_the_maildir_exists_the_messages_arrive(
    sqlite_store, clock, tmp_path, present
):
    clock.move_to(MORNING)
    maildir = tmp_path / "outbox"
    for sub in present:
        (maildir / sub).mkdir(parents=True)
    expected = uncovered_markets(sqlite_store, 2)

    report = deliver(sqlite_store, maildir)

    assert (report.delivered, report.retried) == (expected, 0)
    assert len(list((maildir / "new").iterdir())) == expected
    assert (maildir / "tmp").is_dir() and (maildir / "cur").is_dir()
    assert statuses(sqlite_store) == ["sent"] * expected


@pytest.mark.parametrize("file_at", [".", "new", "tmp"], ids=["le-dossier", "new", "tmp"])
def test_a_file_where_the_maildir_should_be_is_named_and_the_messages_wait(
    sqlite_store, clock, tmp_path, caplog, file_at
):
    clock.move_to(MORNING)
    maildir = tmp_path / "outbox"
    in_the_way = maildir / file_at if file_at != "." else maildir
    in_the_way.parent.mkdir(parents=True, exist_ok=True)
    in_the_way.write_text("pas un dossier")
    expected = uncovered_markets(sqlite_store, 2)

    with caplog.at_level(logging.ERROR, logger="notifications.sweep"):
        report = deliver(sqlite_store, maildir)

    assert (report.delivered, report.retried) == (0, expected)
    assert statuses(sqlite_store) == ["pending"] * expected
    [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert f"{in_the_way} est un fichier, pas un dossier" in error
    assert "déplacez ce fichier ou choisissez un autre dossier (outbox.maildir" in error
    assert in_the_way.read_text() == "pas un dossier", "nothing of the user's is overwritten"


def test_a_maildir_that_cannot_be_created_says_what_to_do_and_the_messages_wait(
    sqlite_store, clock, tmp_path, caplog
):
    clock.move_to(MORNING)
    parent = tmp_path / "lecture-seule"
    parent.mkdir()
    maildir = parent / "outbox"
    expected = uncovered_markets(sqlite_store, 2)
    refuse_writes(parent)
    try:
        with caplog.at_level(logging.ERROR, logger="notifications.sweep"):
            report = deliver(sqlite_store, maildir)
    finally:
        allow_writes(parent)

    assert (report.delivered, report.retried) == (0, expected)
    assert statuses(sqlite_store) == ["pending"] * expected
    [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert f"dossier des messages {maildir} : écriture refusée" in error
    assert "donnez le droit d'écriture à l'utilisateur qui lance Clausier" in error
    assert not maildir.exists()


def test_a_maildir_removed_during_a_batch_is_made_again(tmp_path):
    maildir = tmp_path / "outbox"
    with MaildirTransport(maildir) as transport:
        transport.send(message(1))
        shutil.rmtree(maildir)  # a person tidying up while the server runs
        transport.send(message(2))
    assert len(list((maildir / "new").iterdir())) == 1


def message(number: int) -> Composed:
    return compose(
        sender="Clausier <clausier@localhost>", to_name=None, to_email="acheteur@example.fr",
        subject=f"Essai {number}", message_id=f"<essai-{number}@localhost>",
        created_at=MORNING, text="Bonjour", html="<p>Bonjour</p>",
    )  # fmt: skip


def test_threads_of_one_server_handing_messages_over_at_once_lose_none(tmp_path, clock):
    """Two page requests of one server deliver their sign-in links in two threads: the maildir's
    file names (time, process, a counter the standard library shares between threads unguarded)
    clashed under a stopped clock (« Name clash prevented file creation »)."""
    maildir, threads, each = tmp_path / "outbox", 8, 150
    failures: list[BaseException] = []

    def hand_over(first: int) -> None:
        try:
            with MaildirTransport(maildir) as transport:
                for number in range(first, first + each):
                    transport.send(message(number))
        except BaseException as error:
            failures.append(error)

    workers = [Thread(target=hand_over, args=(n * each,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert len(list((maildir / "new").iterdir())) == threads * each
