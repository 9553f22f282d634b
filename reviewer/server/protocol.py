"""uvicorn's HTTP/1.1 protocol with a deadline for each request's headers: a connection that
sends nothing, or trickles a request in, is closed instead of being held open."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

REQUEST_TIMEOUT_S = 10.0
"""How long a connection may take, once open or after its last answer, to start a request."""


class PromptH11(H11Protocol):
    """Closes the connection when no request has begun `timeout_s` seconds after it opened or
    after its last response (uvicorn's keep-alive timer restarts on every byte received)."""

    timeout_s = REQUEST_TIMEOUT_S

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_since: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        done = self.cycle
        super().on_response_complete()
        if self.cycle is done:  # no pipelined request began at once
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._waiting_since = self.cycle
        self._deadline = self.loop.call_later(self.timeout_s, self._too_slow)

    def _too_slow(self) -> None:
        if self.cycle is self._waiting_since and not self.transport.is_closing():
            self.transport.close()
