"""Terminal text for items and rows: every string passes the safe-text path."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..vocab import OPEN

if TYPE_CHECKING:
    from ..models import ItemSummary


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
    return [safe_line(s.id, 1000), s.kind, safe_line(s.queue, 20), str(s.priority), safe_line(state, 28),
            age_of(s.created_at), safe_line(why, 48), safe_line(s.snippet, 60)]


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [header, *rows])


def _when(text: str | None) -> datetime | None:
    """A timestamp of the item's JSON (`...Z`) or of a raw SQLite row (naive UTC)."""
    if text is None:
        return None
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def render_item(q: Mapping[str, Any]) -> str:
    """A readable, terminal-safe text view of one item, from its JSON form (QueueItem's
    `model_dump(mode="json")`; fields at their defaults may be absent)."""
    from ..safe_text import safe, safe_line

    it = q["item"]
    lines = [f"{q['kind']} {safe_line(q['id'])}  queue={safe_line(q['queue'])}  priority={q['priority']}  "
             f"status={q['status']}" + (f" ({q['verdict']} by {safe_line(q['decided_by'])})" if q.get("verdict") else "")]
    meta = [f"{safe_line(k, 40)}={safe_line(str(v), 60)}" for k, v in it.get("source", {}).items() if v is not None]
    if meta:
        lines.append("source: " + "  ".join(meta))
    if it.get("tags"):
        lines.append("tags: " + ", ".join(safe_line(t, 40) for t in it["tags"]))
    for f in it.get("flags", []):
        score = f" {f['score']:.2f}" if f.get("score") is not None else ""
        lines.append(f"flag: {safe_line(f['reason'])}{score}  {safe_line(f.get('detail') or '', 200)}")
    given = it.get("input", {})
    for m in given.get("messages", []):
        lines.append(f"\n[{safe_line(m['role'], 20)}]\n{safe(m['content'])}")
    if given.get("text"):
        lines.append(f"\n[input]\n{safe(given['text'])}")
    context = it.get("context", {})
    for doc in context.get("documents", []):
        lines.append(f"\n[document {safe_line(doc.get('id') or '', 60)}] {safe_line(doc.get('title') or '')}\n"
                     f"{safe(doc['text'])}")
    if context.get("metadata"):
        lines.append("\n[metadata]\n" + safe(json.dumps(context["metadata"], indent=2, ensure_ascii=False)))
    if q["kind"] == "output":
        lines.append(f"\n[output]\n{safe(it['output'])}")
        if it.get("reference"):
            lines.append(f"\n[reference]\n{safe(it['reference'])}")
    else:
        a = it["action"]
        deadline = _when(q.get("expires_at"))
        lines.append(f"\n[action] {safe_line(a['tool'])}  risk={q['risk']}"
                     + (f"  deadline {age_of(deadline)}" if deadline and q["status"] in OPEN else ""))
        lines.append(safe(json.dumps(a.get("arguments", {}), indent=2, ensure_ascii=False)))
        if a.get("rationale"):
            lines.append(f"rationale: {safe(a['rationale'])}")
        lines += _pending_edit(q)
    for d in q.get("decisions", []):
        when = _when(d["decided_at"])
        extra = f" reverts {d['reverts']}" if d.get("reverts") else ""
        lines.append(f"\ndecision {d['seq']}: {d['verdict']} by {safe_line(d['reviewer'])} at "
                     f"{when:%Y-%m-%d %H:%M:%S}Z{extra}"
                     + (f" reasons={','.join(safe_line(r, 40) for r in d['reasons'])}" if d.get("reasons") else "")
                     + (f" comment={safe_line(d['comment'], 200)}" if d.get("comment") else ""))
        lines += _changes(q, d, "correction", "approved arguments", to="correction")
    for sg in q.get("suggestions", []):
        spent = [f"{sg[k]:,} tokens {k.removeprefix('tokens_')}" for k in ("tokens_in", "tokens_out") if sg.get(k)]
        if sg.get("cost_usd") is not None:
            spent.append(f"${sg['cost_usd']:.6f}")
        lines.append(f"\nsuggestion by {safe_line(sg['model'], 80)} ({safe_line(sg['prompt_version'], 40)}) "
                     f"posted by {safe_line(sg.get('by') or 'judge', 40)}: "
                     f"{sg['verdict']} at confidence {sg['confidence']:.2f}"
                     + (f" reasons={','.join(safe_line(r, 40) for r in sg['reasons'])}" if sg.get("reasons") else "")
                     + (f"  [{', '.join(spent)}]" if spent else "")
                     + (f"\n  {safe_line(sg['rationale'], 400)}" if sg.get("rationale") else ""))
        lines += _changes(q, sg, "suggested correction", "suggested arguments", to="suggestion")
    if q.get("audit"):
        lines.append("\naudit trail:")
        for a in q["audit"]:
            when = _when(a["at"])
            detail = "" if not a.get("detail") else "  " + safe_line(json.dumps(a["detail"], ensure_ascii=False), 160)
            lines.append(f"  {when:%Y-%m-%d %H:%M:%S}Z  {safe_line(a['actor'], 40)}  {safe_line(a['action'], 30)}{detail}")
    return "\n".join(lines)


def _changes(q: Mapping[str, Any], d: Mapping[str, Any], correction: str, arguments: str, *, to: str) -> list[str]:
    """A decision's (or a suggestion's) correction as a diff of the output, or its arguments."""
    from ..safe_text import safe

    lines = []
    if d.get("correction") is not None and q["kind"] == "output":
        lines.append(f"[{correction}, as a diff of the output]")
        lines += [safe(x.rstrip("\n")) for x in difflib.unified_diff(
            q["item"]["output"].splitlines(), d["correction"].splitlines(), "output", to, lineterm="", n=2)][2:]
    if d.get("arguments") is not None:
        lines.append(f"[{arguments}]\n" + safe(json.dumps(d["arguments"], indent=2, ensure_ascii=False)))
    return lines


def _pending_edit(q: Mapping[str, Any]) -> list[str]:
    """An open action's first approval that edited its arguments: what a second approval as it
    is runs, as a diff against the agent's request."""
    from ..models import Decision
    from ..rules import approved_edit, current_round
    from ..safe_text import safe, safe_line

    if not q.get("approvals") or q["status"] not in OPEN:
        return []
    edit = approved_edit(current_round([Decision.model_validate(d) for d in q.get("decisions", [])]))
    if edit is None or edit.arguments is None:
        return []
    before = json.dumps(q["item"]["action"].get("arguments", {}), indent=2, ensure_ascii=False, sort_keys=True)
    after = json.dumps(edit.arguments, indent=2, ensure_ascii=False, sort_keys=True)
    return [f"\n[arguments that will run, edited by {safe_line(edit.reviewer, 60)} in approval {q['approvals']} of 2: "
            "a second approval as it is approves these, not the agent's]",
            *(safe(x) for x in difflib.unified_diff(before.splitlines(), after.splitlines(), "agent's request",
                                                     "will run", lineterm="", n=20))]
