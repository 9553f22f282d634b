"""The LLM judge: one item in, one `Suggestion` out (never a decision).

The prompt is a versioned file (`reviewer/prompts/judge-v1.md`), or a queue's own
(`reviewer queue set NAME --judge-prompt FILE`); its version is its name and a hash of its
text, so editing a prompt makes new suggestions. The item goes to the model as data between
`<item>` tags, never as instructions (JSON with `<` and `>` escaped: its content cannot close
the block). The answer is parsed leniently (a JSON object, fences
allowed) and made to fit the item: reasons outside the queue's taxonomy are dropped, a
correction that changes nothing becomes an approve, a correction without the corrected text
becomes a reject. Rate limits and provider hiccups are retried with exponential backoff.

litellm is imported when a judge first calls it, never at start.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any

from .errors import ReviewerError
from .models import (
    MAX_RATIONALE,
    ActionItem,
    OutputItem,
    QueueItem,
    QueueSettings,
    Suggestion,
    corrected_text,
)
from .safe_text import safe_line

PROMPT = "judge-v1"  # the built-in prompt's file, under reviewer/prompts
MAX_BACKOFF_S = 30.0


class JudgeError(ReviewerError):
    """The judge could not give a usable suggestion for one item (the run goes on)."""


class NoProvider(ReviewerError):
    """The model cannot be reached at all (no key, no network): every item would fail."""


def prompt_for(settings: QueueSettings) -> tuple[str, str]:
    """The judge prompt a queue uses, and its version (`judge-v1@1a2b3c4d`; `queue@...` for
    a queue's own). Asked once per item: the file is read and each text hashed once."""
    if settings.judge_prompt:
        return _versioned(settings.judge_prompt, "queue")
    return _versioned(_builtin(), PROMPT)


@cache
def _builtin() -> str:
    return files("reviewer").joinpath("prompts", f"{PROMPT}.md").read_text(encoding="utf-8")


@cache
def _versioned(text: str, name: str) -> tuple[str, str]:
    return text, f"{name}@{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def messages_for(q: QueueItem, settings: QueueSettings, prompt: str) -> list[dict[str, str]]:
    """The chat messages that ask the judge about item `q`."""
    it = q.item
    reasons = settings.reasons_for(it.kind)
    if isinstance(it, ActionItem):
        task = ("An agent asks to run the tool call below. Approve it, reject it, or correct its arguments "
                "(the corrected arguments are then run instead).")
        data: dict[str, Any] = {"tool": it.action.tool, "arguments": it.action.arguments, "risk": it.risk,
                                "agent_rationale": it.action.rationale}
        correction_field, arguments_field = "null", "{the corrected arguments, for correct; else null}"
    else:
        task = ("The model output below was flagged. Approve it as it is, reject it, or correct it "
                "(write the whole corrected output).")
        data = {"output": it.output}
        if it.reference is not None:
            data["reference"] = it.reference
        correction_field, arguments_field = '"the whole corrected output, for correct; else null"', "null"
    data["conversation"] = [{"role": m.role, "content": m.content} for m in it.input.messages if m.content]
    if it.input.text:
        data["input"] = it.input.text
    if it.context.documents:
        data["documents"] = [{"id": d.id, "title": d.title, "text": d.text} for d in it.context.documents]
    data["flags"] = [f.model_dump(exclude_none=True) for f in it.flags]
    system = Template(prompt).safe_substitute(
        kind="agent action" if isinstance(it, ActionItem) else "model output", task=task,
        reasons=", ".join(reasons), guidelines=f"The queue's guidelines:\n{settings.guidelines}\n"
        if settings.guidelines else "", correction_field=correction_field, arguments_field=arguments_field)
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"<item>\n{as_data(data)}\n</item>"}]


_TAG_CHARS = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def as_data(data: dict[str, Any]) -> str:
    """`data` as JSON with no `<`, `>` or `&` in it (each written as its JSON escape, which
    decodes to the same text), so nothing in an item can close the `<item>` block or open a tag."""
    return json.dumps(data, ensure_ascii=False, indent=1).translate(_TAG_CHARS)


def parse_answer(text: str) -> dict[str, Any]:
    """The JSON object in the judge's answer (code fences and chatter around it allowed)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise JudgeError(f"the judge did not answer with a JSON object: {safe_line(text, 120)!r}")
    try:
        found = json.loads(text[start : end + 1])
    except json.JSONDecodeError as e:
        raise JudgeError(f"the judge's JSON does not parse ({e.msg})") from e
    if not isinstance(found, dict):
        raise JudgeError("the judge's answer is not a JSON object")
    return found


def fitted(q: QueueItem, settings: QueueSettings, answer: dict[str, Any], **made: Any) -> Suggestion:
    """The judge's answer as a Suggestion that fits item `q` and its queue's reasons."""
    verdict = str(answer.get("verdict", "")).strip().lower()
    if verdict not in ("approve", "reject", "correct"):
        raise JudgeError(f"the judge answered verdict {safe_line(verdict, 40)!r}, not approve, reject or correct")
    allowed = settings.reasons_for(q.item.kind)
    raw = answer.get("reasons")
    given = [r for r in raw if isinstance(r, str)] if isinstance(raw, list) else []
    reasons = list(dict.fromkeys(r for r in given if r in allowed))
    notes = [f"dropped reasons outside the taxonomy: {', '.join(r for r in given if r not in allowed)}"] \
        if len(reasons) < len(set(given)) else []
    correction = answer.get("correction") if isinstance(answer.get("correction"), str) else None
    arguments = answer.get("arguments") if isinstance(answer.get("arguments"), dict) else None
    it = q.item
    if verdict == "correct":
        if isinstance(it, OutputItem):
            arguments = None
            if correction is None or not correction.strip():
                verdict, correction = "reject", None
                notes.append("suggested correct without the corrected text: kept as reject")
            elif corrected_text(correction) == corrected_text(it.output):
                verdict, correction = "approve", None
                notes.append("its correction changed nothing: kept as approve")
        else:
            correction = None
            if arguments is None:
                verdict = "reject"
                notes.append("suggested correct without the arguments: kept as reject")
            elif arguments == it.action.arguments:
                verdict, arguments = "approve", None
                notes.append("its arguments changed nothing: kept as approve")
    if verdict != "correct":
        correction = arguments = None
    if verdict == "approve":
        reasons = []
    try:
        confidence = min(1.0, max(0.0, float(answer.get("confidence", 0.5))))
    except (TypeError, ValueError):
        confidence = 0.5
    rationale = " ".join([str(answer.get("rationale") or ""), *(f"(reviewer: {n}.)" for n in notes)]).strip()
    rationale = rationale[:MAX_RATIONALE]
    return Suggestion(item_id=q.id, verdict=verdict, reasons=reasons, correction=correction,
                      arguments=arguments, rationale=rationale, confidence=confidence, **made)


def missing_keys(model: str) -> list[str]:
    """The environment variables litellm needs for `model` and does not find."""
    import litellm

    litellm.suppress_debug_info = True
    found = litellm.validate_environment(model=model)
    return list(found.get("missing_keys") or [])


@dataclass
class Judge:
    """Asks `model` (as litellm names it) about one item at a time; `mock_response` answers
    with that text and calls no provider (a dry run; tokens and cost are litellm's estimates)."""

    model: str
    mock_response: str | None = None
    retries: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 120.0
    completion: Callable[..., Any] | None = None  # litellm.completion; tests wrap it

    def __call__(self, q: QueueItem, settings: QueueSettings) -> Suggestion:
        prompt, version = prompt_for(settings)
        response = self._complete(messages_for(q, settings, prompt))
        try:
            content = response.choices[0].message.content or ""
        except (AttributeError, IndexError) as e:
            raise JudgeError("the judge's answer has no message") from e
        usage = getattr(response, "usage", None)
        return fitted(q, settings, parse_answer(content), model=self.model, prompt_version=version,
                      tokens_in=getattr(usage, "prompt_tokens", None), tokens_out=getattr(usage, "completion_tokens", None),
                      cost_usd=self._cost(response))

    def _complete(self, messages: list[dict[str, str]]) -> Any:
        import litellm
        from litellm import exceptions as ex

        litellm.suppress_debug_info = True
        call = self.completion or litellm.completion
        kw: dict[str, Any] = {"mock_response": self.mock_response} if self.mock_response is not None else {}
        passing = (ex.RateLimitError, ex.Timeout, ex.APIConnectionError, ex.ServiceUnavailableError,
                   ex.InternalServerError)
        for attempt in range(self.retries + 1):
            try:
                return call(model=self.model, messages=messages, timeout=self.timeout_s, num_retries=0, **kw)
            except ex.AuthenticationError as e:
                raise NoProvider(f"{self.model}: the provider refused the key ({type(e).__name__})",
                                 hint="check the provider's API key in the environment") from e
            except passing as e:
                if "Missing credentials" in str(e) or "api_key" in str(e):
                    raise NoProvider(f"{self.model}: no API key", hint="set the provider's key (OPENAI_API_KEY, "
                                     "ANTHROPIC_API_KEY, ...) in the environment") from e
                if attempt == self.retries:
                    if isinstance(e, ex.APIConnectionError):
                        raise NoProvider(f"{self.model}: the provider cannot be reached",
                                         hint="check the network, or the model's api_base") from e
                    raise JudgeError(f"{type(e).__name__} after {self.retries + 1} tries") from e
                time.sleep(min(MAX_BACKOFF_S, self.backoff_s * 2**attempt) * (0.5 + random.random()))
            except ex.BadRequestError as e:
                raise JudgeError(f"the provider refused the request: {safe_line(str(e), 200)}") from e
        raise AssertionError("unreachable")

    @staticmethod
    def _cost(response: Any) -> float | None:
        import litellm

        try:
            return float(litellm.completion_cost(completion_response=response))
        except Exception:  # a model missing from the price list has no cost, not an error
            return None
