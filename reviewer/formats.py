"""Export formats: one standing decision on one item -> dataset records, in the shape each
consumer loads as is (docs/exports.md has one real line of each).

A format is a function `(item, decision, options) -> list of records | str`: the records to
write, or why the format leaves this item out (counted in the manifest and said on stderr,
never silent). Every record carries the item's `id`, so an incremental export can replace it
(BARE formats keep it beside the file instead).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .gate import decision_feedback
from .models import ActionItem, Decision, Input, OutputItem, QueueItem

Record = dict[str, Any]
BARE = frozenset({"openai-chat", "openai-dpo"})
"""Formats whose consumer refuses keys it does not know (OpenAI's file validation): their
records are written without `id`, and the ids go to a side file, `FILE.ids`, line for line."""
ROLES = ("system", "user", "assistant", "tool")
MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")


@dataclass(frozen=True)
class Options:
    include_rejected: bool = False


def chat(inp: Input) -> list[Record]:
    """The input as chat messages (`text` becomes one user message): role, content and the
    tool keys only, and only messages that say something."""
    msgs = [{k: v for k, v in m.model_dump(mode="json").items() if k in MESSAGE_KEYS and v is not None}
            for m in inp.messages if m.role in ROLES]
    msgs = [m for m in msgs if m.get("content") or m.get("tool_calls")]
    if not msgs and inp.text:
        msgs = [{"role": "user", "content": inp.text}]
    return msgs


def expected(it: OutputItem, d: Decision) -> str | None:
    """The answer the decision stands for: the output approved, the correction, or None."""
    return {"approve": it.output, "correct": d.correction}.get(d.verdict)


def approved_arguments(it: ActionItem, d: Decision) -> dict[str, Any] | None:
    if d.verdict == "reject":
        return None
    return d.arguments if d.arguments is not None else it.action.arguments


def tool_call(item: QueueItem, it: ActionItem, arguments: dict[str, Any]) -> Record:
    return {"id": f"call_{item.id}", "type": "function",
            "function": {"name": it.action.tool, "arguments": json.dumps(arguments, ensure_ascii=False)}}


def _source_ids(item: QueueItem) -> Record:
    src = item.item.source
    extra = src.model_extra or {}
    return {"trace_id": src.trace_id, "observation_id": extra.get("observation_id") or src.span_id,
            "session_id": extra.get("session_id")}


def _decision_meta(d: Decision) -> Record:
    return {"verdict": d.verdict, "reviewer": d.reviewer, "reasons": d.reasons, "comment": d.comment,
            "decided_at": d.decided_at.isoformat(), "decision_id": d.id}


OUTPUTS_ONLY = "an action: this format holds outputs (actions go to tool-calls, feedback or csv)"
NO_ANSWER = "a reject without a correction: no answer to learn from (add --include-rejected for golden)"


def golden(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    it = item.item
    if not isinstance(it, OutputItem):
        return OUTPUTS_ONLY
    if d.verdict == "reject" and not o.include_rejected:
        return NO_ANSWER
    return [{
        "id": item.id,
        "input": it.input.model_dump(mode="json", exclude_none=True),
        "expected_output": expected(it, d),
        "context": it.context.model_dump(mode="json", exclude_none=True),
        "metadata": {"source": it.source.model_dump(mode="json", exclude_none=True), "queue": it.queue,
                     "flags": [f.model_dump(mode="json", exclude_none=True) for f in it.flags],
                     "original_output": it.output, **_decision_meta(d)},
    }]


def feedback(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    """One record per standing decision, outputs and actions: the decision, a score in the
    shape Langfuse's score API and Opik's feedback scores take, and what each LLM judge had
    suggested (`judges`, `agrees`: the human decided the same verdict), to calibrate them."""
    it = item.item
    return [{
        "id": item.id, "kind": it.kind, "queue": it.queue, **_source_ids(item),
        "name": "human_review", "value": d.verdict, "data_type": "CATEGORICAL",
        "comment": d.comment, "source": "ANNOTATION",
        "duration_ms": d.duration_ms,
        "flags": [{"reason": f.reason, "score": f.score} for f in it.flags],
        "judges": [{"model": s.model, "prompt_version": s.prompt_version, "verdict": s.verdict,
                    "reasons": s.reasons, "confidence": s.confidence, "agrees": s.verdict == d.verdict}
                   for s in item.suggestions],
        **_decision_meta(d),
    }]


def openai_chat(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    """OpenAI chat fine-tuning: the conversation, ending with the approved or corrected
    assistant turn; for an action, an assistant `tool_calls` turn with the approved arguments."""
    it = item.item
    if d.verdict == "reject":
        return "a reject: chat fine-tuning learns from approved and corrected answers"
    if isinstance(it, OutputItem):
        last: Record = {"role": "assistant", "content": expected(it, d)}
    else:
        args = approved_arguments(it, d)
        assert args is not None  # not a reject
        last = {"role": "assistant", "tool_calls": [tool_call(item, it, args)]}
    history = chat(it.input)
    if not any(m["role"] == "user" for m in history):
        return "no user message in its input: nothing for the answer to answer"
    return [{"id": item.id, "messages": [*history, last]}]


def _pair(item: QueueItem, d: Decision) -> tuple[OutputItem, list[Record]] | str:
    it = item.item
    if not isinstance(it, OutputItem):
        return OUTPUTS_ONLY
    if d.verdict != "correct" or d.correction is None:
        return "not a correction: preference pairs come from corrections"
    return it, chat(it.input)


def openai_dpo(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    """OpenAI preference fine-tuning: the correction preferred over the original output."""
    pair = _pair(item, d)
    if isinstance(pair, str):
        return pair
    it, prompt = pair
    return [{"id": item.id, "input": {"messages": prompt},
             "preferred_output": [{"role": "assistant", "content": d.correction}],
             "non_preferred_output": [{"role": "assistant", "content": it.output}]}]


def trl_dpo(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    """TRL's conversational preference format (DPOTrainer): prompt, chosen, rejected."""
    pair = _pair(item, d)
    if isinstance(pair, str):
        return pair
    it, prompt = pair
    return [{"id": item.id, "prompt": prompt, "chosen": [{"role": "assistant", "content": d.correction}],
             "rejected": [{"role": "assistant", "content": it.output}]}]


def trl_kto(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    """TRL's unpaired preference format (KTOTrainer): prompt, completion, label. An approve
    labels the output good, a reject bad; a correction gives both (the original bad, the
    correction good)."""
    it = item.item
    if not isinstance(it, OutputItem):
        return OUTPUTS_ONLY
    prompt = chat(it.input)

    def one(text: str, good: bool) -> Record:
        return {"id": item.id, "prompt": prompt, "completion": [{"role": "assistant", "content": text}],
                "label": good}

    if d.verdict == "correct" and d.correction is not None:
        return [one(it.output, False), one(d.correction, True)]
    return [one(it.output, d.verdict == "approve")]


def inspect(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    """Inspect AI samples: `inspect_ai.dataset.json_dataset(path)` loads them as they are."""
    it = item.item
    if not isinstance(it, OutputItem):
        return OUTPUTS_ONLY
    target = expected(it, d)
    if target is None:
        return "a reject without a correction: no target"
    messages = [{"role": m["role"], "content": m.get("content") or ""} for m in chat(it.input)
                if m["role"] in ("system", "user", "assistant")]
    if not messages:
        return "no input messages"
    return [{"id": item.id, "input": messages, "target": target,
             "metadata": {"queue": it.queue, "flags": [f.reason for f in it.flags],
                          "original_output": it.output, **_source_ids(item), **_decision_meta(d)}}]


def tool_calls(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    """One record per decided action, rejects included as negatives: for evaluating an
    agent's tool use."""
    it = item.item
    if not isinstance(it, ActionItem):
        return "an output: this format holds actions"
    return [{"id": item.id, "messages": chat(it.input), "tool": it.action.tool, "risk": it.risk,
             "proposed_arguments": it.action.arguments, "approved_arguments": approved_arguments(it, d),
             "rationale": it.action.rationale, "feedback": decision_feedback(d, it.action.tool, it.action.arguments),
             **_decision_meta(d)}]


CSV_COLUMNS = ("id", "kind", "queue", "verdict", "reasons", "reviewer", "comment", "decided_at", "duration_ms",
               "original", "decided", "trace_id", "flags")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list, and NUL)."""


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: one starting a formula gets a leading `'`
    (idempotent: the quote itself starts nothing)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def csv_row(item: QueueItem, d: Decision, o: Options) -> list[Record] | str:
    """One flat row per standing decision: `original` is the output (or the tool call),
    `decided` what the reviewer settled on (the output, the correction, the approved call)."""
    it = item.item
    if isinstance(it, OutputItem):
        original, decided = it.output, expected(it, d)
    else:
        args = approved_arguments(it, d)
        original = f"{it.action.tool} {json.dumps(it.action.arguments, ensure_ascii=False)}"
        decided = None if args is None else f"{it.action.tool} {json.dumps(args, ensure_ascii=False)}"
    return [{"id": item.id, "kind": it.kind, "queue": it.queue, "verdict": d.verdict,
             "reasons": ";".join(d.reasons), "reviewer": d.reviewer, "comment": d.comment or "",
             "decided_at": d.decided_at.isoformat(), "duration_ms": d.duration_ms or "",
             "original": original, "decided": decided or "", "trace_id": it.source.trace_id or "",
             "flags": ";".join(f.reason for f in it.flags)}]


Builder = Callable[[QueueItem, Decision, Options], "list[Record] | str"]
FORMATS: dict[str, Builder] = {
    "golden": golden, "feedback": feedback, "openai-chat": openai_chat, "openai-dpo": openai_dpo,
    "trl-dpo": trl_dpo, "trl-kto": trl_kto, "inspect": inspect, "tool-calls": tool_calls, "csv": csv_row,
}
