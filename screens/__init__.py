"""The Textual app: screens, widgets and styles. Talks only to a `ReviewQueue`."""

from .app import ReviewerApp, make_app

__all__ = ["ReviewerApp", "make_app"]
