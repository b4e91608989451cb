"""The application served by a real uvicorn on 127.0.0.1, in a thread, for browser tests.

The listening socket is bound before uvicorn starts: a request sent at once waits in the
kernel's queue until uvicorn accepts it, so nobody polls for the server to be up.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

# how long a test's client waits for an answer: a hang guard, not a measure (a loaded machine
# may take seconds to start a server; httpx's own 5 s timed out in CI)
PATIENT = httpx.Timeout(60)


@contextmanager
def serving(app) -> Iterator[str]:
    """The base URL of ``app`` while the block runs."""
    sock = socket.create_server(("127.0.0.1", 0))
    # as clausier serve: the app, not uvicorn, decides whose X-Forwarded-* headers to believe
    # a kept-alive connection outlives a loaded machine's pauses: uvicorn's 5 s would close it
    # just as a client reuses it (« connection reset by peer », seen in CI)
    config = uvicorn.Config(app, log_level="warning", proxy_headers=False, timeout_keep_alive=120)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
