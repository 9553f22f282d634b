"""Sign in to a gateway with your own token: each browser session of `reviewer web`."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from reviewer.safe_text import safe_line

from .base import AppScreen


class SignInScreen(AppScreen):
    """A token field; the gateway says whose it is. Dismissed with (queue, name)."""

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="sign_in.quit")]

    class Answered(Message):
        def __init__(self, queue: Any, name: str | None, error: str | None) -> None:
            super().__init__()
            self.queue, self.name, self.error = queue, name, error

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"Sign in to {safe_line(self.url, 80)}", style="bold"))
            yield Static(Text("Your own reviewer token (an admin creates it with `reviewer token create`). "
                              "It stays in this session only.", style="dim"))
            yield Input(password=True, placeholder="token, then Enter", id="token")
            yield Static("", id="sign-in-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        token = event.value.strip()
        if token:
            self.query_one("#sign-in-error", Static).update(Text("Checking…", style="dim"))
            self._check(self.url, token)

    @work(thread=True, exclusive=True, group="sign-in", exit_on_error=False)
    def _check(self, url: str, token: str) -> None:
        from reviewer.client import HttpQueue
        from reviewer.errors import ReviewerError

        queue = HttpQueue(url, token=token)
        try:
            me = queue.whoami()
        except ReviewerError as e:
            queue.close()
            self.post_message(self.Answered(None, None, str(e)))
            return
        if me.role not in ("reviewer", "admin"):
            queue.close()
            self.post_message(self.Answered(None, None, f"this is an {me.role} token; sign in with a reviewer's"))
            return
        self.post_message(self.Answered(queue, me.name, None))

    def on_sign_in_screen_answered(self, msg: Answered) -> None:
        if msg.error is not None:
            self.query_one(Input).value = ""
            self.query_one("#sign-in-error", Static).update(Text(safe_line(msg.error, 200), style="bold red"))
            return
        self.dismiss((msg.queue, msg.name))
