"""The report screen (`g` on the queue screen): `reviewer report` in the app, with bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from reviewer.safe_text import safe_line

from .base import AppScreen
from .footer import KeyFooter

if TYPE_CHECKING:
    from reviewer.queue import ReviewQueue
    from reviewer.report import Report

BAR = 20  # cells of a full bar


def bar(fraction: float, style: str) -> Text:
    cells = round(max(0.0, min(1.0, fraction)) * BAR)
    return Text("█" * cells, style=style) + Text("·" * (BAR - cells), style="dim")


def render(r: Report, wide: bool = True) -> list[Table | Text]:
    """The report as Rich renderables (bars only when `wide`); every name from the queue is
    shown as plain text, whole (names wrap rather than being cut)."""
    parts: list[Table | Text] = []
    flags = Table(title="Flags: do humans agree with what flagged the item?", expand=True, title_justify="left")
    flags.add_column("flag", ratio=1, min_width=24, overflow="fold")
    heads = (("flagged", "confirmed", "overturned", "precision", "", "95% interval", "flag at score <=") if wide
             else ("n", "conf", "over", "prec", "95% CI", "score<="))
    for col in heads:
        flags.add_column(col, no_wrap=True)
    for f in r.flags:
        p = f.precision or 0.0
        flags.add_row(Text(f.reason), str(f.flagged), str(f.confirmed), str(f.overturned),
                      "-" if f.precision is None else f"{p:.0%}",
                      *([bar(p, "green" if p >= 0.8 else "yellow")] if wide else []),
                      f"{f.interval[0]:.0%}-{f.interval[1]:.0%}",
                      "-" if f.suggested_threshold is None else f"{f.suggested_threshold:g}")
    parts.append(flags if r.flags else Text("No human decisions on flagged items yet.", style="dim"))
    modes = Table(title="Failure modes: reasons of rejects and corrections, by week", expand=True,
                  title_justify="left")
    modes.add_column("queue", overflow="fold")
    modes.add_column("week")
    modes.add_column("reason", overflow="fold")
    if wide:
        modes.add_column("")
    modes.add_column("count")
    for queue, weeks in r.failure_modes.items():
        top = max(n for reasons in weeks.values() for n in reasons.values())
        for week, reasons in weeks.items():
            for reason, n in reasons.items():
                modes.add_row(Text(queue), week, Text(reason), *([bar(n / top, "red")] if wide else []), str(n))
    parts.append(modes if r.failure_modes else Text("No rejects or corrections yet.", style="dim"))
    people = Table(title="Reviewers", expand=True, title_justify="left")
    for col in ("reviewer", "decisions", "median time", "per hour"):
        people.add_column(col)
    for x in r.reviewers:
        people.add_row(Text(safe_line(x.reviewer, 30)), str(x.decisions),
                       "-" if x.median_ms is None else f"{x.median_ms / 1000:.1f} s",
                       "-" if x.per_hour is None else f"{x.per_hour:g}")
    parts.append(people)
    if r.agreement:
        agree = Table(title="Agreement between reviewers of the same items (Cohen's kappa)", expand=True,
                      title_justify="left")
        for col in ("reviewers", "items", "kappa", ""):
            agree.add_column(col)
        for a in r.agreement:
            agree.add_row(Text(f"{safe_line(a.a, 20)} / {safe_line(a.b, 20)}"), str(a.items),
                          "-" if a.kappa is None else f"{a.kappa:.2f}", bar(max(0.0, a.kappa or 0.0), "cyan"))
        parts.append(agree)
    if r.judges:
        judges = Table(title="Judges: how often reviewers decided what the judge suggested", expand=True,
                       title_justify="left")
        for col in ("queue", "model", "prompt", "items", "agreed", "rate", *([""] if wide else []), "kappa"):
            judges.add_column(col)
        for j in r.judges:
            judges.add_row(Text(safe_line(j.queue, 30)), Text(safe_line(j.model, 40)),
                           Text(safe_line(j.prompt_version, 30)), str(j.items), str(j.agreed),
                           f"{j.rate:.0%}" if j.rate is not None else "-",
                           *([bar(j.rate or 0.0, "green")] if wide else []),
                           "-" if j.kappa is None else f"{j.kappa:.2f}")
        parts.append(judges)
    return parts


class ReportScreen(AppScreen):
    """The figures of `reviewer report`, computed in a worker."""

    BINDINGS = [
        Binding("escape,q,g", "app.pop_screen", "Back", id="report.back"),
        Binding("ctrl+r", "refresh_report", "Refresh", id="report.refresh"),
    ]

    class Built(Message):
        def __init__(self, report: Report) -> None:
            super().__init__()
            self.report = report

    def compose(self) -> ComposeResult:
        yield Static(Text(" Report ", style="bold reverse"), id="report-title")
        yield VerticalScroll(Static(Text("Reading the decisions…", style="dim"), id="report-body"))
        yield KeyFooter()

    def on_mount(self) -> None:
        self.action_refresh_report()

    def action_refresh_report(self) -> None:
        if self.rapp.queue is not None:
            self._build(self.rapp.queue)

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def _build(self, q: ReviewQueue) -> None:
        from reviewer.export import decided_items
        from reviewer.report import build

        self.post_message(self.Built(build(decided_items(q))))

    def on_report_screen_built(self, msg: Built) -> None:
        from rich.console import Group

        from .text import NARROW

        self.query_one("#report-body", Static).update(Group(*render(msg.report, wide=self.size.width >= NARROW)))
