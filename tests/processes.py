"""A ``clausier worker`` in a real subprocess, whose log the test reads as it is written.

A test waits on what the worker says it has done, not on a clock: a pass's report is logged
after the pass has committed, so once the line is read the database is in the state it reports.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.smtp import free_port

_DELIVERED = re.compile(r"passage : .*\bdelivered=(\d+)")


class WorkerProcess:
    """``clausier worker`` started with ``env`` in ``cwd``; its configuration must log at INFO."""

    def __init__(self, cwd: Path, env: dict[str, str], *command: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clausier", *(command or ("worker",))], cwd=cwd, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._said = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            with self._said:
                self.lines.append(line)
                self._said.notify_all()
        with self._said:
            self._ended = True
            self._said.notify_all()

    def delivered(self) -> int:
        """Messages the worker's passes reported delivered so far."""
        return sum(int(m.group(1)) for line in self.lines if (m := _DELIVERED.search(line)))

    def wait_delivered(self, count: int, timeout: float = 60) -> bool:
        """Until its passes report ``count`` messages delivered (False if it ended or timed out)."""
        with self._said:
            self._said.wait_for(lambda: self.delivered() >= count or self._ended, timeout)
            return self.delivered() >= count

    def wait_said(self, text: str, timeout: float = 60) -> str | None:
        """The first line the worker logged with ``text`` in it, once it is written (None if the
        worker ended or the timeout passed first)."""

        def said() -> str | None:
            return next((line for line in self.lines if text in line), None)

        with self._said:
            self._said.wait_for(lambda: said() is not None or self._ended, timeout)
            return said()

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> str:
        """SIGTERM, then everything it logged."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        return "".join(self.lines)


@contextmanager
def demo_server(root: Path, env: dict[str, str]) -> Iterator[dict]:
    """``clausier serve --demo`` on a free port: its URL and the tokens it printed.

    ``serve`` binds its port before it prints « écoute sur », so the first request is served.
    """
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "clausier", "serve", "--demo", "--no-scheduler", "--port", str(port)],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines: list[str] = []
        while not any("écoute sur" in line for line in lines):
            lines.append(server.stderr.readline())
            assert lines[-1] or server.poll() is None, "".join(lines)
        tokens = {
            line.split()[1]: line.split()[-1] for line in lines if line.strip().startswith("jeton")
        }
        yield {"url": f"http://127.0.0.1:{port}", "tokens": tokens}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
