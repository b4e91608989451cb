"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, on a free port.

``server.answer`` makes it refuse the next messages with a code (421: try later; 550: never);
``server.stop()`` / ``server.start()`` take it down and bring it back on the same port;
``server.wait_for(n)`` returns once n messages have been accepted; ``server.on_data`` runs as
each message's data ends, before the server accepts it; ``server.hold(after=n)`` keeps every
message past the first n waiting for its answer until ``server.release()``, and
``server.wait_held(n)`` returns once n are waiting (a sender caught mid-batch, without timing).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, _server, _session, envelope):
        if self.server.answer:
            return self.server.answer
        if self.server.holding(len(self.server.received)):
            await self.server.held_until_released()
        if self.server.on_data is not None:
            self.server.on_data()  # what the sender has done when a message is accepted
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.server.arrived:
            self.server.received.append((envelope.rcpt_tos, message))
            self.server.arrived.notify_all()
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.answer: str | None = None
        self.gate = threading.Event()  # open unless ``hold`` closed it
        self.gate.set()
        self.hold_after = 0
        self.held = 0
        self.on_data: Callable[[], None] | None = None
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.controller: Controller | None = None

    def hold(self, *, after: int = 0) -> None:
        self.hold_after = after
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def holding(self, accepted: int) -> bool:
        return not self.gate.is_set() and accepted >= self.hold_after

    async def held_until_released(self) -> None:
        """Waits on a thread: the event loop goes on serving the other connections."""
        with self.arrived:
            self.held += 1
            self.arrived.notify_all()
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.gate.wait)
        finally:
            with self.arrived:
                self.held -= 1

    def wait_held(self, count: int, timeout: float = 60) -> bool:
        """Until ``count`` messages wait for their answer (False on timeout): no polling."""
        with self.arrived:
            return self.arrived.wait_for(lambda: self.held >= count, timeout)

    def start(self) -> None:
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.release()  # no handler left waiting on a closed server
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(message["Message-ID"] for _, message in self.received)

    def wait_for(self, count: int, timeout: float = 60) -> bool:
        """Until ``count`` messages have been accepted (False on timeout): no polling."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [message for _, message in self.received]
