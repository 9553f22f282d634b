"""A real gateway for tests: uvicorn serving `reviewer.server` on a loopback port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from reviewer.server.app import create_app
from reviewer.storage import SqlQueue


@contextmanager
def serve(queue: SqlQueue, port: int = 0, uvicorn_options: dict[str, Any] | None = None,
          **kw: Any) -> Iterator[str]:
    """Serve `queue` (create_app's options in `kw`, uvicorn's in `uvicorn_options`) until the
    block ends; yields the URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(queue, **kw), log_level="warning", lifespan="on",
                            **(uvicorn_options or {}))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > end or not thread.is_alive():
            raise RuntimeError("the test gateway did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
