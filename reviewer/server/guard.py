"""What the gateway checks before FastAPI reads a request: no NUL character in its path or
query (they become database parameters, and PostgreSQL takes none in text), the token, then
the body's size (its Content-Length up front, then the bytes as they arrive). A refused
request's body is not read beyond the point where it was refused."""

from __future__ import annotations

from collections.abc import Callable, Collection

import anyio
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reviewer import api
from reviewer.errors import Invalid, ReviewerError
from reviewer.principal import Principal

Problem = Callable[[ReviewerError], JSONResponse]


class TooLarge(Exception):
    pass


def bearer(scope: Scope) -> str | None:
    """The bearer token of a request's Authorization header, if it has one."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            return secret.strip() or None if scheme.lower() == "bearer" else None
    return None


def content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


class RequestGuard:
    """ASGI middleware: `authenticate` (run in a thread; raises Unauthorized) for every path
    but `public`, its principal kept in the request's state; then at most `max_body` bytes
    of body, read here and handed on whole."""

    def __init__(self, app: ASGIApp, *, authenticate: Callable[[str | None], Principal],
                 public: Collection[str], max_body: int, problem: Problem) -> None:
        self.app, self.authenticate, self.public = app, authenticate, public
        self.max_body, self.problem = max_body, problem

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
                raise Invalid("the request's path or query holds a NUL character (%00)",
                              hint="ids and names never hold one")
            if scope["path"] not in self.public:
                principal = await anyio.to_thread.run_sync(self.authenticate, bearer(scope))
                scope.setdefault("state", {})["principal"] = principal
            length = content_length(scope)
            if length is not None and length > self.max_body:
                raise TooLarge
            body = await self._body(receive)
            if body is None:  # the client went away
                return
        except ReviewerError as e:
            await self._answer(self.problem(e), scope, receive, send)
            return
        except TooLarge:
            body_ = api.Problem(error=f"the request body is larger than {self.max_body:,} bytes",
                                hint="send fewer items per request", type="Invalid")
            await self._answer(JSONResponse(body_.model_dump(), status_code=413), scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise TooLarge
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    @staticmethod
    async def _answer(response: JSONResponse, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer and close: the rest of a refused body is not read."""
        response.headers["connection"] = "close"
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read already, then whatever comes next (a disconnect)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again
