"""The exceptions `reviewer` raises. Every one carries a message a user can act on.

ReviewerError
 +-- Invalid           the request itself is malformed (bad decision shape, bad filter)
 +-- NotFound          no item (or decision) with that id
 +-- Conflict          the request contradicts the stored state
 |    +-- LeaseError   no valid lease, or another reviewer holds the item
 |    +-- AlreadyDecided / Expired
 +-- StorageError      the database (or gateway) is unreachable, locked, corrupt or too old
 |    +-- Unreachable  the gateway cannot be reached (nothing was asked of it)
 |         +-- Offline the gateway is unreachable: the decision is saved, sent later
 +-- Unauthorized      no valid gateway token
 +-- Forbidden         the token may not do this
"""

from __future__ import annotations


class ReviewerError(Exception):
    """Base class. `hint` says what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class Invalid(ReviewerError):
    pass


class NotFound(ReviewerError):
    pass


class Conflict(ReviewerError):
    pass


class LeaseError(Conflict):
    pass


class AlreadyDecided(Conflict):
    pass


class Expired(Conflict):
    pass


class StorageError(ReviewerError):
    pass


def no_item(item_id: str) -> NotFound:
    return NotFound(f"no item with id {item_id!r}", hint="reviewer list shows the ids")


class Unauthorized(ReviewerError):
    """No valid token (missing, unknown or revoked)."""


class Forbidden(ReviewerError):
    """A valid token whose role, queues or name do not allow the request."""


class Unreachable(StorageError):
    """The gateway could not be reached: the request never got an answer."""


class Offline(Unreachable):
    """The gateway is unreachable; the decision was saved in the outbox and is sent when the
    gateway is back (`HttpQueue.send_saved`)."""
