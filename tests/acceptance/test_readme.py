"""README.md runs top to bottom: its command blocks, read from README.md itself (so that they
cannot drift), pasted in order into a fresh clone, as a new user would.

What the test does differently from a person, and why:
- the install step of the first two commands is left out: the clone's ``.venv`` shares the
  suite's packages (tests/clones.py), and CI runs those install commands as written (``.ci/run``,
  whose test command must be the README's, checked here);
- ``clausier serve --demo`` listens on a free port (``--port 0``), and the blocks that address
  ``http://127.0.0.1:8000`` are sent there; ``$TOKEN`` is the demo's buyer token, as printed;
- the clock is the day the example is written for (``CLAUSIER_NOW``), in office hours, so that
  the figures and the reminders do not depend on the day the suite runs.

A command is expected to succeed unless its comment says it is refused; a transcript
(``$ command`` then its output) must print that output.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.clones import ROOT, fresh_clone, user_env

README = ROOT / "README.md"
EXAMPLE_DAY = "2026-11-25T10:00"
INSTALL = re.compile(r"^python3 -m venv \.venv && \.venv/bin/pip install -e (\S+) && (.+)$")
STARTS = ("python3 ", "clausier ", "curl ", "CLAUSIER_", ".venv/", "$ ")
REFUSED = re.compile(r"#.*\brefus", re.IGNORECASE)


@dataclass
class Block:
    heading: str
    lines: list[str]

    @property
    def transcript(self) -> bool:
        return self.lines[0].startswith("$ ")

    def commands(self) -> list[str]:
        """One command a line, a line ending in a backslash continued on the next."""
        commands, current = [], ""
        for line in self.lines:
            current += line.rstrip()
            if current.endswith("\\"):
                current = current[:-1] + " "
                continue
            if current.strip():
                commands.append(current.strip())
            current = ""
        return commands


def command_blocks(text: str) -> list[Block]:
    """The README's code blocks that are commands (not the layout), with their section."""
    blocks, heading = [], ""
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "inline" and token.map and text.splitlines()[token.map[0]].startswith("#"):
            heading = token.content
        if token.type in ("code_block", "fence"):
            lines = token.content.rstrip("\n").splitlines()
            if lines and lines[0].startswith(STARTS):
                blocks.append(Block(heading, lines))
    return blocks


def test_the_readme_is_read_as_the_test_expects():
    blocks = command_blocks(README.read_text(encoding="utf-8"))
    main, tests = blocks[0], blocks[1]
    assert INSTALL.match(main.lines[0]) and main.lines[0].endswith("clausier serve --demo")
    assert INSTALL.match(tests.lines[0]) and "pytest" in tests.lines[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci == tests.lines[0], "CI calls exactly the README's test command"
    assert any(b.transcript for b in blocks)
    assert not any(line.startswith("clausier/") for b in blocks for line in b.lines)


class Demo:
    """The README's main command, left running for the blocks that talk to it."""

    def __init__(self, clone: Path, env: dict[str, str], command: str) -> None:
        self.process = subprocess.Popen(
            [*shlex.split(command), "--port", "0"], cwd=clone, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: list[str] = []
        while not any("écoute sur" in line for line in lines):
            lines.append(self.process.stderr.readline())
            assert lines[-1] or self.process.poll() is None, "".join(lines)
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        said = "".join(lines)
        self.url = re.search(r"écoute sur (http://\S+?)/ ", said).group(1)
        self.buyer_token = re.search(r"jeton acheteur\s+Région Normandie\s+(\S+)", said).group(1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def run(clone: Path, env: dict[str, str], command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=clone, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def clone(tmp_path) -> Path:
    return fresh_clone(tmp_path / "clausier")


def test_every_block_of_commands_of_the_readme_runs_in_order_on_a_fresh_clone(clone):
    env = user_env(clone) | {"CLAUSIER_NOW": EXAMPLE_DAY}
    blocks = command_blocks(README.read_text(encoding="utf-8"))
    demo = None
    ran: set[str] = set()
    try:
        for number, block in enumerate(blocks):
            where = f"README.md, « {block.heading} », bloc {number + 1}"
            if number == 0:
                demo = Demo(clone, env, INSTALL.match(block.lines[0]).group(2))
                env["TOKEN"] = demo.buyer_token
                continue
            if number == 1:
                continue  # the test command: this suite itself, run by CI as written
            if block.transcript:
                command, expected = block.lines[0][2:], "\n".join(block.lines[1:])
                done = run(clone, env, command)
                assert words(done.stderr + done.stdout) == words(expected), where
                ran.add(block.heading)
                continue
            for command in block.commands():
                if "127.0.0.1:8000" in command:
                    command = command.replace("http://127.0.0.1:8000", demo.url)
                done = run(clone, env, command)
                said = f"{where} : {command}\n{done.stdout}\n{done.stderr}"
                if REFUSED.search(command):
                    assert done.returncode == 1, said
                    assert "Erreur : " in done.stderr, said
                else:
                    assert done.returncode == 0, said
                    assert "Erreur" not in done.stderr, said
                if command.startswith("curl "):
                    assert "error" not in json.loads(done.stdout), said
                ran.add(block.heading)
    finally:
        if demo is not None:
            demo.stop()
    assert ran >= {"The API", "A market's life from the command line", "The insertion offer",
                   "Reminders"}  # fmt: skip
