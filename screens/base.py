"""`AppScreen`: what every screen of the app shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.worker import Worker

if TYPE_CHECKING:
    from .app import ReviewerApp


class AppScreen(Screen[Any]):
    """A screen of ReviewerApp: typed access to the app, and worker errors sent to it
    (`Worker.StateChanged` does not bubble)."""

    @property
    def rapp(self) -> ReviewerApp:
        return self.app  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.rapp.worker_changed(event)
