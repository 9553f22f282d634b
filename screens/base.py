"""`AppScreen`: what every screen of the app shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker

from .text import NARROW

if TYPE_CHECKING:
    from .app import ReviewerApp


class AppScreen(Screen[Any]):
    """A screen of ReviewerApp: typed access to the app, and worker errors sent to it
    (`Worker.StateChanged` does not bubble). Below NARROW columns the screen has the class
    `narrow`, for app.tcss's narrow rules."""

    @property
    def narrow(self) -> bool:
        return self.app.size.width < NARROW

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW, "narrow")
        self.resized()

    def resized(self) -> None:
        """Redraw what is laid out by width (a screen's own text lines)."""

    @property
    def rapp(self) -> ReviewerApp:
        return self.app  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.rapp.worker_changed(event)

    def on_screen_resume(self) -> None:
        self.show_reconnecting(self.rapp.reconnecting)

    def show_reconnecting(self, on: bool) -> None:
        """One line across the top while the gateway is away (instead of an error per call)."""
        found = self.query("#reconnecting")
        if on and not found:
            self.mount(Static(Text(RECONNECTING, style="bold reverse yellow"), id="reconnecting"))
        elif not on and found:
            found.remove()


RECONNECTING = (" Reconnecting to the gateway… your decisions are saved here and sent when it is back ")
