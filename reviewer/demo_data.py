"""A realistic, deterministic generator of flagged outputs and pending actions.

Used by `reviewer demo` and the benchmarks. It starts with the hand-written samples shipped in
`reviewer/samples/` and adds generated items across many queues, flag reasons and models: short
and long outputs, multi-turn conversations, retrieved documents, some with references.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

QUEUES = {
    "finchat-summaries": ("judge.numeric_faithfulness", "user.thumbs_down", "drift.embedding_distance"),
    "support-bot": ("judge.policy_grounding", "guardrail.pii_leak", "user.thumbs_down", "judge.tone"),
    "rag-qa": ("judge.faithfulness", "judge.context_relevance", "guardrail.prompt_injection",
               "sample.random"),
    "code-review-bot": ("judge.correctness", "user.thumbs_down", "sample.random"),
    "translation": ("judge.fluency", "judge.terminology", "user.thumbs_down"),
    "sales-emails": ("guardrail.policy_violation", "judge.tone", "guardrail.pii_leak"),
}
MODELS = [("gpt-4o-2024-11-20", "openai"), ("gpt-4.1-mini", "openai"),
          ("claude-sonnet-4-5", "anthropic"), ("gemini-2.5-pro", "google"),
          ("llama-3.3-70b", "together")]
COMPANIES = ["Nordhavn Logistics", "Brauwerk Holding", "Ceres Foods", "Kestrel Air", "Lumen Audio",
             "Orbis Mining", "Pallas Health", "Quillon Bank", "Rhea Textiles", "Solberg Energy"]
TOPICS = ["refund policy", "shipping times", "warranty terms", "password reset", "invoice copy",
          "data export", "account deletion", "plan upgrade", "API rate limits", "SSO setup"]
TAGS = ["eu", "us", "apac", "numbers", "pii", "refund", "tone", "legal", "latency", "beta",
        "enterprise", "regression", "vip", "escalated"]
TOOLS = [
    ("issue_refund", "support-agent", "high", lambda r: {"order_id": str(r.randint(10000, 99999)),
                                        "amount": round(r.uniform(5, 2500), 2), "currency": "EUR"}),
    ("run_sql", "ops-agent", "critical", lambda r: {"database": "prod-orders", "statement":
                                       r.choice(["DELETE FROM sessions WHERE last_seen < now() - interval '90 days';",
                                                 "UPDATE users SET plan='pro' WHERE id=4411;",
                                                 "DROP TABLE tmp_import_2026;"])}),
    ("shell", "ops-agent", "high", lambda r: {"command": r.choice(["kubectl -n web rollout restart deploy/api",
                                                      "rm -rf /var/cache/app/*", "systemctl restart nginx"])}),
    ("send_email", "sales-agent", "medium", lambda r: {"to": [f"buyer{r.randint(1, 99)}@customer.example"],
                                        "subject": "Your quote", "body": "Hi,\n\nHere is the quote.\n"}),
    ("transfer_funds", "finance-agent", "critical", lambda r: {"from_account": "OPS-EUR-01",
                                              "to_iban": "DE89370400440532013000",
                                              "amount": round(r.uniform(1000, 90000), 2)}),
]
SENTENCES = [
    "{c} reported revenue of EUR {a:,}m for the quarter, up {p}% year on year.",
    "Operating margin reached {p}%, helped by lower freight costs.",
    "You can return the item within {d} days for a full refund, no questions asked.",
    "Our records show the order shipped on {day} and should arrive within {d} business days.",
    "The {t} documentation says the limit is {a} requests per minute per key.",
    "I have escalated your ticket to the billing team; expect a reply within {d} hours.",
    "Based on the retrieved policy, employees accrue {d} days of leave per year.",
    "Net income was EUR {a}m, compared with EUR {b}m a year earlier.",
    "Please note that {t} is only available on the enterprise plan.",
    "The function returns None when the list is empty, which callers do not handle.",
]


def samples() -> list[dict[str, Any]]:
    """The hand-written sample items shipped with reviewer."""
    out: list[dict[str, Any]] = []
    for name in ("flagged_outputs.jsonl", "pending_actions.jsonl"):
        text = resources.files("reviewer.samples").joinpath(name).read_text(encoding="utf-8")
        out.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return out


def _text(r: random.Random, n: int) -> str:
    parts = []
    for _ in range(n):
        parts.append(r.choice(SENTENCES).format(
            c=r.choice(COMPANIES), a=r.randint(10, 5000), b=r.randint(10, 5000), p=r.randint(1, 40),
            d=r.randint(2, 90), t=r.choice(TOPICS), day=f"Nov {r.randint(1, 28)}"))
    return " ".join(parts)


def generate(n: int, *, seed: int = 7, now: datetime | None = None,
             action_share: float = 0.05) -> Iterator[dict[str, Any]]:
    """`n` generated items as wire-format dicts (ids `gen-000001`...)."""
    r = random.Random(seed)
    now = now or datetime.now(UTC)
    queues = list(QUEUES)
    for i in range(1, n + 1):
        model, provider = r.choice(MODELS)
        created = now - timedelta(minutes=r.randint(1, 60 * 24 * 14))
        source = {"app": "demo", "trace_id": f"tr_{r.getrandbits(40):010x}", "model": model,
                  "provider": provider, "latency_ms": r.randint(300, 9000),
                  "cost_usd": round(r.uniform(0.0002, 0.03), 5)}
        base: dict[str, Any] = {
            "id": f"gen-{i:06d}", "priority": r.choices([0, 1, 2, 3], [1, 3, 8, 3])[0],
            "tags": r.sample(TAGS, r.randint(0, 3)), "source": source,
            "created_at": created.isoformat(),
        }
        topic = r.choice(TOPICS)
        turns = [{"role": "system", "content": "You are a helpful, precise assistant."}]
        for _ in range(r.choice([1, 1, 1, 2, 3])):
            turns.append({"role": "user", "content": f"Question about {topic}: {_text(r, 1)}"})
            turns.append({"role": "assistant", "content": _text(r, r.randint(1, 2))})
        turns = turns[:-1]
        if r.random() < action_share:
            tool, queue, risk, make_args = r.choice(TOOLS)
            base.update(kind="action", queue=queue, risk=risk,
                        action={"tool": tool, "arguments": make_args(r),
                                "rationale": f"The user asked about {topic}."},
                        input={"messages": turns[1:]}, timeout_s=r.choice([600, 1800, 3600, 86400]))
        else:
            queue = r.choice(queues)
            reasons = r.sample(QUEUES[queue], r.randint(1, 2))
            flags = [{"reason": x, "score": round(r.uniform(0, 0.6), 2),
                      "detail": f"{x.split('.')[-1].replace('_', ' ')} below threshold"}
                     if not x.startswith("user.") else {"reason": x, "detail": "user clicked thumbs-down"}
                     for x in reasons]
            output = _text(r, r.choice([1, 2, 3, 4, 6, 12]))
            item = {"kind": "output", "queue": queue, "flags": flags, "input": {"messages": turns},
                    "output": output}
            if r.random() < 0.6:
                item["context"] = {"documents": [
                    {"id": f"doc-{r.randint(1, 9999)}", "title": f"{topic.title()} policy",
                     "text": _text(r, r.randint(2, 5))} for _ in range(r.randint(1, 3))]}
            if r.random() < 0.25:
                words = output.split()
                j = r.randrange(len(words))
                words[j] = r.choice(["EUR 1,204m", "30 days", "enterprise", "returns"])
                item["reference"] = " ".join(words)
            base.update(item)
        yield base


def demo_items(n: int, *, seed: int = 7, now: datetime | None = None) -> list[dict[str, Any]]:
    """The shipped samples (actions given fresh deadlines) plus `n - len(samples)` generated items."""
    now = now or datetime.now(UTC)
    items = samples()
    for it in items:
        it["created_at"] = (now - timedelta(minutes=5 + len(it["id"]))).isoformat()
    extra = max(0, n - len(items))
    items.extend(generate(extra, seed=seed, now=now))
    return items[: max(n, 0)] if n < len(samples()) else items
