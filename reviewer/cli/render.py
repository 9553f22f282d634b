"""Terminal text for items and rows: every string passes the safe-text path."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..vocab import OPEN

if TYPE_CHECKING:
    from ..models import ItemSummary, QueueItem


def age_of(dt: Any) -> str:
    """How old (or how far off) `dt` is, as `5m` or `in 3h`."""
    from ..timefmt import age, utcnow

    return age(dt, utcnow())


def summary_line(s: ItemSummary) -> list[str]:
    from ..safe_text import safe_line

    if s.kind == "action":
        why = f"{s.risk} {s.tool}"
        if s.expires_at and s.status in OPEN:
            why += f" (deadline {age_of(s.expires_at)})"
    else:
        why = ", ".join(f"{f.reason}" + (f" {f.score:.2f}" if f.score is not None else "") for f in s.flags)
    state = s.status + (f" by {s.claimed_by}" if s.claimed_by else "")
    if s.verdict:
        state += f" ({s.verdict})"
    return [safe_line(s.id, 24), s.kind, safe_line(s.queue, 20), str(s.priority), safe_line(state, 28),
            age_of(s.created_at), safe_line(why, 48), safe_line(s.snippet, 60)]


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [header, *rows])


def render_item(q: QueueItem) -> str:
    """A readable, terminal-safe text view of one item."""
    from ..models import OutputItem
    from ..safe_text import safe, safe_line

    it = q.item
    lines = [f"{q.kind} {safe_line(q.id)}  queue={safe_line(q.queue)}  priority={q.priority}  "
             f"status={q.status}" + (f" ({q.verdict} by {safe_line(q.decided_by)})" if q.verdict else "")]
    src = it.source
    meta = [f"{safe_line(k, 40)}={safe_line(str(v), 60)}" for k, v in src.model_dump(exclude_none=True).items()]
    if meta:
        lines.append("source: " + "  ".join(meta))
    if it.tags:
        lines.append("tags: " + ", ".join(safe_line(t, 40) for t in it.tags))
    for f in it.flags:
        score = f" {f.score:.2f}" if f.score is not None else ""
        lines.append(f"flag: {safe_line(f.reason)}{score}  {safe_line(f.detail, 200)}")
    for m in it.input.messages:
        lines.append(f"\n[{safe_line(m.role, 20)}]\n{safe(m.content)}")
    if it.input.text:
        lines.append(f"\n[input]\n{safe(it.input.text)}")
    for doc in it.context.documents:
        lines.append(f"\n[document {safe_line(doc.id, 60)}] {safe_line(doc.title)}\n{safe(doc.text)}")
    if it.context.metadata:
        lines.append("\n[metadata]\n" + safe(json.dumps(it.context.metadata, indent=2, ensure_ascii=False)))
    if isinstance(it, OutputItem):
        lines.append(f"\n[output]\n{safe(it.output)}")
        if it.reference:
            lines.append(f"\n[reference]\n{safe(it.reference)}")
    else:
        a = it.action
        lines.append(f"\n[action] {safe_line(a.tool)}  risk={it.risk}"
                     + (f"  deadline {age_of(q.expires_at)}" if q.expires_at and q.status in OPEN else ""))
        lines.append(safe(json.dumps(a.arguments, indent=2, ensure_ascii=False)))
        if a.rationale:
            lines.append(f"rationale: {safe(a.rationale)}")
    for d in q.decisions:
        extra = f" reverts {d.reverts}" if d.reverts else ""
        lines.append(f"\ndecision {d.seq}: {d.verdict} by {safe_line(d.reviewer)} at "
                     f"{d.decided_at:%Y-%m-%d %H:%M:%S}Z{extra}"
                     + (f" reasons={','.join(d.reasons)}" if d.reasons else "")
                     + (f" comment={safe_line(d.comment, 200)}" if d.comment else ""))
    return "\n".join(lines)
