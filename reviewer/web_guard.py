"""The server of `reviewer web`: textual-serve behind a per-run secret and an Origin check.

Every browser session of `reviewer web` is a live app that decides items, so nothing reaches
it unless it comes from the page this server itself served:

- **Host and Origin.** A request must name one of the server's own addresses as its `Host`
  (no DNS rebinding), and the websocket must carry an `Origin` that is one of them too (a page
  from another origin, even on this machine, gets a 403 and no app).
- **The per-run secret** (a local queue). It is printed once as `URL/?token=SECRET`, as
  Jupyter does; opening that link sets it as an HttpOnly, SameSite=Strict cookie and redirects
  to the bare URL, so it leaves the address bar. Every request without the cookie (the page, its
  scripts, the websocket, downloads) gets a 403. It is never logged: aiohttp's access log is off.
- Against a gateway there is no shared secret: each session signs in with its reviewer's own
  token (`tui --sign-in`), and the Host and Origin checks still apply.
"""

from __future__ import annotations

import hmac
import secrets
import ssl
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.server import Server

COOKIE = "reviewer_web_{port}"  # cookies are shared across ports: one name per server
REFUSED = ("This is a reviewer web session. Open it with the link `reviewer web` printed in its "
           "terminal (it carries this run's secret).\n")


def own_addresses(host: str, port: int, public_url: str | None) -> set[str]:
    """The `host:port` names this server answers to: the public URL's, and the bound address
    (with localhost and 127.0.0.1 standing for each other on loopback)."""
    names = {f"{host}:{port}"}
    if host in ("127.0.0.1", "localhost"):
        names |= {f"127.0.0.1:{port}", f"localhost:{port}"}
    if host in ("::1", "[::1]"):
        names |= {f"[::1]:{port}"}
    if public_url:
        parts = urlsplit(public_url)
        default = 443 if parts.scheme == "https" else 80
        names |= {parts.netloc, f"{parts.hostname}:{parts.port or default}"}
    return names


class GuardedServer(Server):
    """textual-serve's server with the checks above; `secret=None` asks for no secret."""

    def __init__(self, command: str, *, host: str, port: int, public_url: str | None,
                 secret: str | None, ssl_context: ssl.SSLContext | None = None) -> None:
        scheme = "https" if ssl_context else "http"
        shown = f"[{host}]" if ":" in host else host
        super().__init__(command, host=host, port=port, title="reviewer",
                         public_url=public_url or f"{scheme}://{shown}:{port}")
        self.secret = secret
        self.ssl_context = ssl_context
        self.cookie = COOKIE.format(port=port)
        self.hosts = own_addresses(host, port, public_url)
        # another scheme on one of these host:port pairs would be this very server
        self.origins = {f"{scheme}://{name}" for scheme in ("http", "https") for name in self.hosts}

    @staticmethod
    def new_secret() -> str:
        return secrets.token_urlsafe(32)

    def link(self) -> str:
        """The URL to open: with the secret as `?token=` for a local queue."""
        base = self.public_url.rstrip("/") + "/"
        return f"{base}?token={self.secret}" if self.secret else base

    def _host_ok(self, request: web.Request) -> bool:
        return request.host in self.hosts or _with_default_port(request) in self.hosts

    def _secret_ok(self, presented: str | None) -> bool:
        return self.secret is None or (presented is not None
                                       and hmac.compare_digest(presented.encode(), self.secret.encode()))

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not self._host_ok(request):
            return web.Response(status=403, text=f"not this server's address: {request.host}\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self.origins:
            return web.Response(status=403, text="a page from another origin may not use this session\n")
        if request.path == "/ws" and origin is None:
            return web.Response(status=403, text="the session's websocket needs the page's Origin\n")
        token = request.query.get("token")
        if token is not None and request.path == "/":
            if not self._secret_ok(token):
                return web.Response(status=403, text=REFUSED)
            query = {k: v for k, v in request.query.items() if k != "token"}
            target = request.rel_url.with_query(query) if query else request.rel_url.with_query(None)
            response = web.HTTPSeeOther(location=str(target))
            if self.secret:
                response.set_cookie(self.cookie, self.secret, httponly=True, samesite="Strict", path="/",
                                    secure=self.public_url.startswith("https"))
            raise response
        if not self._secret_ok(request.cookies.get(self.cookie)):
            return web.Response(status=403, text=REFUSED)
        response = await handler(request)
        if isinstance(response, web.Response) and request.path == "/":
            response.headers["X-Frame-Options"] = "DENY"  # no clickjacking of the session in a frame
            response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints its banner and the command here; the CLI says what matters."""

    def serve(self, debug: bool = False) -> None:
        """Serve until interrupted: no access log (a request line can carry the secret)."""
        self.debug = debug
        self.initialize_logging()
        web.run_app(self._make_app(), host=self.host, port=self.port, access_log=None,
                    ssl_context=self.ssl_context, print=lambda *args: None, shutdown_timeout=5)


def _with_default_port(request: web.Request) -> str:
    return f"{request.host}:{443 if request.secure else 80}"
