"""The gateway's API tokens, in the queue's database. Only a SHA-256 of each secret is kept:
a token is 32 random bytes, so a fast hash is as safe as a slow one and costs nothing per
request. The secret is shown once, when the token is created."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from sqlalchemy import Engine, insert, select, update

from reviewer.errors import Invalid, NotFound
from reviewer.models import check_label
from reviewer.principal import ROLES, Principal
from reviewer.timefmt import utcnow

from . import convert as cv
from .tables import tokens

PREFIX = "rvw_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class Tokens:
    """Create, list, revoke and check tokens."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, role: str, queues: list[str] | None = None) -> tuple[str, str]:
        """A new token: (the secret, shown once; its id)."""
        try:
            check_label(name)
            for q in queues or []:
                check_label(q)
        except ValueError as e:
            raise Invalid(f"token name or queue: {e}") from None
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        token_id = secrets.token_hex(4)
        secret = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with self.engine.begin() as conn:
            conn.execute(insert(tokens).values(
                id=token_id, name=name, role=role, queues=None if queues is None else json.dumps(queues),
                hash=digest(secret), created_at=cv.naive(utcnow())))
        return secret, token_id

    def list(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(tokens).order_by(tokens.c.created_at)).all()
        return [{"id": r.id, "name": r.name, "role": r.role,
                 "queues": None if r.queues is None else json.loads(r.queues),
                 "created_at": cv.aware(r.created_at), "revoked_at": cv.aware(r.revoked_at)} for r in rows]

    def revoke(self, token_id_or_name: str) -> int:
        """Revoke a token by id, or every live token of a name; how many were revoked."""
        with self.engine.begin() as conn:
            done = conn.execute(update(tokens).where(
                (tokens.c.id == token_id_or_name) | (tokens.c.name == token_id_or_name),
                tokens.c.revoked_at.is_(None)).values(revoked_at=cv.naive(utcnow()))).rowcount
        if not done:
            raise NotFound(f"no live token with id or name {token_id_or_name!r}", hint="reviewer token list")
        return int(done)

    def check(self, secret: str) -> Principal | None:
        """The bearer of `secret`, or None (unknown, malformed or revoked)."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        want = digest(secret)
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens).where(tokens.c.hash == want)).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.hash, want):
            return None
        return Principal(name=row.name, role=row.role, token_id=row.id,
                         queues=None if row.queues is None else json.loads(row.queues))


