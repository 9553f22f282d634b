"""What the review screen's panes show, as inert Rich renderables built from one item.

Pure functions of the item (and the time): the screen only puts them into its widgets.
Every string from the item goes through `screens.text` (`line`, `plain`), keys included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.text import Text

from reviewer.models import ActionItem, Decision, OutputItem, QueueItem
from reviewer.safe_text import safe
from reviewer.vocab import OPEN, SETTLED

from .dialogs.editor import APPROVED_EDITS, CORRECTED
from .text import RISK_BADGE, age, countdown, heading, line, plain


@dataclass(frozen=True)
class Progress:
    """Where the reviewer is in the list they opened, and their pace in this screen."""

    position: int  # 1-based, in the list as it was opened
    total: int
    since: float  # monotonic seconds when the screen opened
    done: int = 0

    def decided(self) -> Progress:
        return replace(self, position=self.position + 1, done=self.done + 1)

    def undone(self) -> Progress:
        """A decision of this screen taken back: its item is shown again."""
        if not self.done:
            return self
        return replace(self, position=max(1, self.position - 1), done=self.done - 1)

    def moved(self, step: int) -> Progress:
        return replace(self, position=max(1, self.position + step))

    def text(self, now: float) -> str:
        """`12 / 55 · 9 decided · 41/h · ~1h05m left` (the pace once there is one)."""
        if self.total <= 0:
            return ""
        out = f"{min(self.position, self.total):,} / {self.total:,}"
        if self.done:
            hours = max(now - self.since, 1.0) / 3600
            rate = self.done / hours
            left = max(self.total - self.position + 1, 0) / rate
            out += f" · {self.done} decided · {rate:,.0f}/h · ~{_duration(left)} left"
        return out


def _duration(hours: float) -> str:
    minutes = int(hours * 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{max(minutes, 1)}m"


def title(q: QueueItem, now: datetime, held: bool, note: str | None, progress: str = "",
          width: int | None = None) -> Text:
    """` OUTPUT  id  queue q  P1  5d old  claimed by you  12 / 55 ...` (or why it is read-only).
    When that is wider than `width`: shorter labels, the progress kept whole, and the rest cut
    from its end (the queue's name first)."""
    full = _title(q, now, held, note, progress, compact=False)
    if width is None or full.cell_len <= width:
        return full
    head = _title(q, now, held, note, "", compact=True)
    tail = Text(f"   {progress}", style="dim") if progress else Text()
    head.truncate(max(0, width - tail.cell_len), overflow="ellipsis")
    return Text.assemble(head, tail)


def _title(q: QueueItem, now: datetime, held: bool, note: str | None, progress: str, *, compact: bool) -> Text:
    t = Text()
    t.append(f" {q.kind.upper()} ", style="bold reverse")
    t.append(" ")
    t.append_text(line(q.id, "bold", 40))
    if not compact:
        t.append("  queue ", style="dim")
        t.append_text(line(q.queue, "blue", 40))
        t.append(f"  P{q.priority}  {age(q.created_at, now)} old  ", style="dim")
    else:
        t.append("  ")
    if q.approvals and q.status in OPEN:
        t.append(f"{q.approvals} of 2 approvals  ", style="bold magenta")
    if held:
        t.append("claimed" if compact else "claimed by you", style="cyan")
    elif note:
        t.append_text(line(f"read-only: {note}", "bold yellow", 120))
    elif q.status in SETTLED:
        t.append_text(line(f"{q.status}: {q.verdict} by {q.decided_by}", "bold yellow"))
    if compact:
        t.append(f"  P{q.priority}  {age(q.created_at, now)}  ", style="dim")
        t.append_text(line(q.queue, "blue", 40))
    if progress:
        t.append(f"   {progress}", style="dim")
    return t


def flags(it: OutputItem | ActionItem) -> Text:
    t = Text()
    t.append_text(heading("Why it is here"))
    for f in it.flags:
        t.append("\n• ")
        t.append_text(line(f.reason, "magenta bold", 60))
        if f.score is not None:
            t.append(f"  {f.score:.2f}", style="bold red" if f.score < 0.5 else "yellow")
        if f.detail:
            t.append("\n  ")
            t.append_text(plain(f.detail, "italic", limit=2000))
    if not it.flags:
        t.append("\nan agent asks to run this action" if isinstance(it, ActionItem) else "\n(no flags)",
                 style="dim")
    return t


def guidelines(text: str | None) -> Text:
    t = Text()
    if text:
        t.append_text(heading("\nGuidelines"))
        t.append("\n")
        t.append_text(plain(text, "dim"))
    return t


def conversation(it: OutputItem | ActionItem) -> Text:
    t = Text()
    t.append_text(heading("\nConversation"))
    for m in it.input.messages:
        t.append("\n")
        t.append_text(line(m.role, "bold cyan" if m.role == "user" else "bold", 20))
        t.append("\n")
        t.append_text(plain(m.content, limit=4000))
        if m.tool_calls:
            t.append_text(plain("\n" + json.dumps(m.tool_calls, ensure_ascii=False), "dim", limit=2000))
    if it.input.text:
        t.append("\n")
        t.append_text(plain(it.input.text, limit=4000))
    if not it.input.messages and not it.input.text:
        t.append("\n(none)", style="dim")
    return t


def documents(it: OutputItem | ActionItem) -> Text:
    t = Text()
    if it.context.documents:
        t.append_text(heading(f"\nRetrieved documents ({len(it.context.documents)})"))
        for d in it.context.documents:
            t.append("\n▸ ")
            t.append_text(line(d.id, "bold", 60))
            if d.title:
                t.append("  ")
                t.append_text(line(d.title, "italic", 80))
            t.append("\n")
            t.append_text(plain(d.text, limit=3000))
    return t


def metadata(it: OutputItem | ActionItem) -> Text:
    """Where the item came from, its context's metadata and tags (nothing, not even the
    heading, when it has none)."""
    t = Text()
    if not (it.source.model_dump(exclude_none=True) or it.context.metadata or it.tags):
        return t
    t.append_text(heading("\nMetadata"))
    for k, v in it.source.model_dump(exclude_none=True).items():
        t.append("\n")
        t.append_text(line(f"{k}: ", "dim", 40))
        t.append_text(line(str(v), limit=80))
    for k, v in it.context.metadata.items():
        t.append("\n")
        t.append_text(line(f"{k}: ", "dim", 40))
        t.append_text(line(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False), limit=120))
    if it.tags:
        t.append("\ntags: ", style="dim")
        t.append_text(line(", ".join(it.tags), limit=200))
    return t


def history(q: QueueItem) -> Text:
    """Every decision on the item, oldest first: verdicts, first approvals, reverts, who, when,
    reasons, comments, edited arguments (a correction shows as a diff in the main pane)."""
    t = Text()
    if not q.decisions:
        return t
    t.append_text(heading("History"))
    reverted = {d.reverts for d in q.decisions if d.reverts}
    for d in q.decisions:
        t.append("\n• ")
        what = d.verdict if not d.reverts else f"revert of {d.reverts[:8]}"
        t.append(f"{what}", style="bold strike" if d.id in reverted else "bold")
        t.append(" by ")
        t.append_text(line(d.reviewer, "cyan", 60))
        t.append(f" ({d.by}) {d.decided_at:%Y-%m-%d %H:%M}", style="dim")
        if d.reasons:
            t.append("\n  reasons: ")
            t.append_text(line(", ".join(d.reasons), "magenta", 300))
        if d.comment:
            t.append("\n  comment: ")
            t.append_text(plain(d.comment, "italic", limit=2000))
        if d.arguments is not None:
            t.append("\n  approved arguments: ")
            t.append_text(plain(json.dumps(d.arguments, ensure_ascii=False), limit=2000))
    if q.approvals and q.status in OPEN:
        t.append(f"\n{q.approvals} of 2 approvals: a second, different reviewer must approve", style="yellow")
    return t


VERDICT_STYLE = {"approve": "bold green", "correct": "bold cyan", "reject": "bold red"}


def last_decision(d: Decision) -> Text:
    """`✓ approved gen-000350 · u to undo`: what the last key press recorded, until the next."""
    t = Text()
    t.append(" ✓ ", style="bold")
    past = {"approve": "approved", "reject": "rejected", "correct": CORRECTED}.get(d.verdict, d.verdict)
    if d.verdict == "correct" and d.arguments is not None:
        past = APPROVED_EDITS  # an action's arguments: the confirmation's word
    t.append(past, style=VERDICT_STYLE.get(d.verdict, "bold"))
    t.append(" ")
    t.append_text(line(d.item_id, "bold", 60))
    if d.reasons:
        t.append(" (")
        t.append_text(line(", ".join(d.reasons), "magenta", 80))
        t.append(")")
    t.append("  ·  u to undo", style="dim")
    return t


def suggestion(q: QueueItem, judge: str | None, asking: bool = False) -> Text:
    """The latest judge's suggestion, never a decision: its verdict, confidence, reasons and
    rationale, and the keys that take it. Without one, how to ask a judge (`judge`: the
    configured model, if any)."""
    t = Text()
    if not q.suggestions:
        if asking:
            t.append_text(heading("\nSuggestion"))
            t.append("\nasking the judge…", style="dim italic")
        elif judge and q.status in OPEN:
            t.append("\nj: ask the judge (", style="dim")
            t.append_text(line(judge, "dim", 60))
            t.append(")", style="dim")
        return t
    s = q.suggestions[-1]
    t.append_text(heading("\nSuggestion"))
    t.append(" by ", style="dim")
    t.append_text(line(s.model, "dim", 60))
    t.append(", posted by ", style="dim")  # the model is what the poster says; the poster is the token
    t.append_text(line(s.by, "dim", 40))
    t.append("\n")
    t.append(s.verdict, style=VERDICT_STYLE.get(s.verdict, "bold"))
    t.append(f"  confidence {s.confidence:.2f}", style="dim")
    if s.reasons:
        t.append("  ")
        t.append_text(line(", ".join(s.reasons), "magenta", 200))
    if s.rationale:
        t.append("\n")
        t.append_text(plain(s.rationale, "italic", limit=1000))
    if s.correction is not None:
        t.append("\ncorrection: ", style="dim")
        t.append_text(plain(s.correction, limit=300))
    if s.arguments is not None:
        t.append("\narguments: ", style="dim")
        t.append_text(plain(json.dumps(s.arguments, ensure_ascii=False), limit=300))
    if len(q.suggestions) > 1:
        t.append(f"\n({len(q.suggestions) - 1} older suggestion{'s' if len(q.suggestions) > 2 else ''}: "
                 "reviewer show)", style="dim")
    if asking:
        t.append("\nasking the judge again…", style="dim italic")
    take = "C: take the arguments" if s.arguments is not None else "C: take the correction"
    keys = [k for k, ok in ((take, s.verdict == "correct"), ("R: reject with these reasons",
                                                                                  bool(s.reasons))) if ok]
    if keys and q.status in OPEN:
        t.append("\n" + " · ".join(keys), style="dim")
    return t


def context(it: OutputItem | ActionItem, guidance: str | None, q: QueueItem | None = None,
            judge: str | None = None, asking: bool = False) -> Text:
    """The left pane: the item's history, why it is here, the judge's suggestion, the
    guidelines, conversation, documents, metadata."""
    parts = [history(q) if q is not None else Text(), flags(it),
             suggestion(q, judge, asking) if q is not None else Text(), guidelines(guidance), conversation(it),
             documents(it), metadata(it)]
    return Text("\n").join(p for p in parts if p)


def action_title(it: ActionItem, deadline: datetime | None, now: datetime) -> Text:
    """`Action tool RISK 12m30s left`."""
    t = Text()
    t.append_text(heading("Action"))
    t.append(" ")
    t.append_text(line(it.action.tool, "bold", 60))
    t.append(" ")
    t.append(f" {it.risk.upper()} ", style=RISK_BADGE[it.risk])
    t.append("  ")
    t.append_text(countdown(deadline, now))
    return t


def pending_edit(q: QueueItem) -> Decision | None:
    """While an action waits for its second approval: the first approval that edited its
    arguments (a second approval as it is runs those), else None."""
    from reviewer.rules import approved_edit, current_round

    if not q.approvals or q.status not in OPEN or not isinstance(q.item, ActionItem):
        return None
    return approved_edit(current_round(q.decisions))


def argument_change(it: ActionItem, edit: Decision) -> Text:
    """`edit`'s arguments as a diff against the agent's request (`-` the agent's, `+` the edit)."""
    from reviewer.diff import diff

    from .text import render_inline

    # keys in one order on both sides: a stored edit's keys come back sorted
    before = json.dumps(it.action.arguments, indent=2, ensure_ascii=False, sort_keys=True)
    after = json.dumps(edit.arguments, indent=2, ensure_ascii=False, sort_keys=True)
    return render_inline(diff(before, after))


def action_call(it: ActionItem, edit: Decision | None = None, approvals: int = 0) -> Group:
    """The arguments as highlighted JSON, and the agent's rationale. With `edit` (a first
    approval that changed them): the arguments that will run, who edited them, and the diff
    against the agent's request."""
    from rich.syntax import Syntax

    parts: list[Any] = []
    arguments = it.action.arguments
    if edit is not None and edit.arguments is not None:
        arguments = edit.arguments
        head = Text()
        head.append_text(heading("Arguments that will run"))
        head.append(" edited by ", style="bold yellow")
        head.append_text(line(edit.reviewer, "bold yellow", 60))
        head.append(f" ({approvals} of 2 approvals; the agent asked otherwise, see below)", style="yellow")
        parts.append(head)
    # Highlighted, yet inert: the JSON is escaped by safe() and never parsed as markup.
    code = safe(json.dumps(arguments, indent=2, ensure_ascii=False))
    parts.append(Syntax(code, "json", theme="ansi_dark", word_wrap=True, background_color="default"))
    if edit is not None and edit.arguments is not None:
        change = Text()
        change.append_text(heading("\nChanged from the agent's request"))
        change.append("\n")
        change.append_text(argument_change(it, edit))
        parts.append(change)
    if it.action.rationale:
        why = Text()
        why.append_text(heading("\nRationale"))
        why.append("\n")
        why.append_text(plain(it.action.rationale, "italic"))
        parts.append(why)
    return Group(*parts)
