"""A new user's first hour, on a fresh clone with its defaults (config.yaml, the ``outbox``
maildir, ``clausier.db``): the README's main command, a sign-in link asked for on /connexion,
read from the clone's maildir and followed in Chromium; then the example's due reminders reach
that maildir too. No setting is changed for the test: only the clock is set for the reminders,
which leave in office hours (a sign-in link leaves at any hour)."""

from __future__ import annotations

import json
import mailbox
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from watchfiles import watch

from tests.clones import fresh_clone, user_env

EXAMPLE_DAY = "2026-11-25T10:00"  # a Wednesday at 10:00 in Paris: office hours
BUYER = "commande-publique@normandie.example"  # the Région Normandie, in the example


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return fresh_clone(tmp_path_factory.mktemp("nouvel-utilisateur") / "clausier")


@contextmanager
def served(clone: Path, *args: str) -> Iterator[dict]:
    """``clausier serve --demo`` as the README says, on a free loopback port (``--port 0``):
    what it printed once it listens."""
    server = subprocess.Popen(
        [".venv/bin/clausier", "serve", "--demo", "--port", "0", *args],
        cwd=clone, env=user_env(clone), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        while not any("écoute sur" in line for line in lines):
            lines.append(server.stderr.readline())
            assert lines[-1] or server.poll() is None, "".join(lines)
        lines.append(server.stderr.readline())  # what it says of the links in e-mails
        url = re.search(r"écoute sur (http://\S+?)/ ", "".join(lines)).group(1)
        # the rest of its output is read as it comes, or a full pipe would stop the server
        threading.Thread(target=server.stderr.read, daemon=True).start()
        yield {"url": url, "said": "".join(lines)}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def messages(maildir: Path) -> list:
    parse = BytesParser(policy=policy.default).parse
    box = mailbox.Maildir(maildir, create=False)
    return [parse(box.get_file(key)) for key in box.iterkeys()]


def until(found, folder: Path, what: str, timeout: float = 30):
    """Wait for another process's work (a message it writes under ``folder``): ``found`` is
    asked again each time the file system says something changed there (inotify), and once a
    second in case the change came before the watch began; ``timeout`` seconds at most."""
    deadline = time.monotonic() + timeout
    if result := found():
        return result
    for _changes in watch(folder, debounce=20, step=10, rust_timeout=1000, yield_on_timeout=True):
        if result := found():
            return result
        assert time.monotonic() < deadline, f"{what} : rien après {timeout} s"
    raise AssertionError(what)


def clausier(clone: Path, *args: str, now: str | None = None) -> subprocess.CompletedProcess:
    env = user_env(clone) | ({"CLAUSIER_NOW": now} if now else {})
    return subprocess.run(
        [".venv/bin/clausier", *args], cwd=clone, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def test_the_clone_tracks_nothing_generated(clone):
    tracked = subprocess.run(
        ["git", "ls-files", "-ci", "--exclude-standard"], cwd=clone, capture_output=True, text=True
    )
    assert tracked.stdout == ""
    assert not (clone / "outbox").exists() and not (clone / "clausier.db").exists()
    assert (
        subprocess.run(
            [".venv/bin/python", "-c", "import clausier; print(clausier.__file__)"],
            cwd=clone, env=user_env(clone), capture_output=True, text=True,
        ).stdout.strip()
        == str(clone / "clausier" / "__init__.py")
    ), "the clone runs its own code"  # fmt: skip


def test_on_a_fresh_clone_a_new_user_signs_in_by_e_mail_and_reminders_reach_the_maildir(
    clone, page
):
    maildir = clone / "outbox"
    with served(clone) as demo:
        assert not demo["url"].endswith(":8000")
        assert f"Les liens des e-mails mènent à {demo['url']}/" in demo["said"]
        page.goto(demo["url"] + "/connexion")
        page.get_by_label("Votre adresse e-mail").fill(BUYER)
        page.get_by_role("button", name="Recevoir un lien de connexion").click()
        assert (
            "un lien de connexion vient de lui être envoyé"
            in page.get_by_role("status").inner_text()
        )

        def sign_in_message():
            return maildir.is_dir() and [
                m for m in messages(maildir) if m["Subject"] == "Votre lien de connexion à Clausier"
            ]

        [message] = until(sign_in_message, clone, "le lien de connexion dans outbox/new")
        assert message["To"] == BUYER
        text = message.get_body(preferencelist=("plain",)).get_content()
        link = re.search(r"https?://\S+/connexion/\S+", text).group(0)
        assert link.startswith(demo["url"] + "/connexion/"), "the link leads to this server"
        page.goto(link)  # opening it signs nobody in (a mail scanner may open it first)
        assert "Ce lien vous connecte en tant que Région Normandie" in page.inner_text("main")
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.wait_for_url(demo["url"] + "/marches")
        assert page.get_by_role("heading", level=1).is_visible()
        assert "Région Normandie" in page.content()
        assert "MKT-2027-001" in page.content()
    assert [p.name for p in sorted(maildir.iterdir())] == ["cur", "new", "tmp"]

    # the README's command line path on the clone's own database, then one sweep
    assert clausier(clone, "init").returncode == 0
    loaded = clausier(clone, "load", "examples/basse-normandie.yaml")
    assert loaded.returncode == 0, loaded.stderr
    before = len(messages(maildir))
    swept = clausier(clone, "reminders", "run-once", now=EXAMPLE_DAY)
    assert swept.returncode == 0, swept.stderr
    said = swept.stderr
    sent = int(re.search(r"(\d+) message\S* envoy", said).group(1))
    assert sent > 0, said
    assert re.search(r"\b0 à retenter, 0 en échec", said), said
    assert len(messages(maildir)) == before + sent
    listed = clausier(clone, "reminders", "list", "--json", "--limit", "1000", now=EXAMPLE_DAY)
    handed = [r for r in json.loads(listed.stdout)["reminders"] if r["message_status"]]
    assert handed and {r["message_status"] for r in handed} == {"sent"}
