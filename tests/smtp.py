"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, on a free port.

``server.answer`` makes it refuse the next messages with a code (421: try later; 550: never);
``server.stop()`` / ``server.start()`` take it down and bring it back on the same port;
``server.wait_for(n)`` returns once n messages have been accepted; ``server.on_data`` runs as
each message's data ends, before the server accepts it.
"""

from __future__ import annotations

import socket
import threading
import time
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
        if self.server.delay:
            time.sleep(self.server.delay)  # a slow server, to catch a worker mid-batch
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
        self.delay: float = 0.0
        self.on_data: Callable[[], None] | None = None
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
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
