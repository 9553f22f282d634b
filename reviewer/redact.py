"""`reviewer export --redact`: PII in exported records replaced by typed placeholders.

The recognizers are presidio's (the `redact` extra): email addresses (a domain with a known
public suffix), phone numbers (through `phonenumbers`), payment cards (Luhn-checked) and IBANs
(checksum-checked). Addresses at any domain count (internal and example domains too), and
nothing is loaded from a network. Every string of a record is redacted except the
fields that name things rather than hold content (ids, queue, reviewer, verdict, times...).
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

PLACEHOLDERS = {"EMAIL_ADDRESS": "<EMAIL>", "PHONE_NUMBER": "<PHONE>", "CREDIT_CARD": "<CARD>", "IBAN_CODE": "<IBAN>"}
KEEP = frozenset({"id", "item_id", "decision_id", "trace_id", "observation_id", "session_id", "span_id", "queue",
                  "kind", "verdict", "value", "reviewer", "decided_at", "created_at", "role", "type", "name",
                  "data_type", "source", "risk", "tool", "label", "reasons", "flags", "reason", "tags"})


@cache
def _recognizers() -> list[Any]:
    try:
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            PhoneRecognizer,
        )
    except ImportError:
        from .errors import Invalid

        raise Invalid("--redact needs presidio", hint="pip install 'reviewer[redact]'") from None
    class AnyDomainEmailRecognizer(EmailRecognizer):
        """Every address, not only those at a public suffix: customer.example, corp.internal
        and host.local are people's addresses too (and no suffix list is ever fetched)."""

        def validate_result(self, pattern_text: str) -> bool:
            return True

    return [AnyDomainEmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer()]


def redact_text(text: str, counts: Counter[str]) -> str:
    """`text` with each recognized span replaced by its placeholder (overlaps: the longest)."""
    if len(text) < 6:  # nothing shorter is an address, a number or a card
        return text
    spans = []
    for r in _recognizers():
        spans += [(x.start, x.end, x.entity_type) for x in r.analyze(text, r.supported_entities, None)]
    out, at = [], 0
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if start < at:
            continue  # inside a span already replaced
        out += [text[at:start], PLACEHOLDERS[kind]]
        counts[PLACEHOLDERS[kind]] += 1
        at = end
    return "".join(out) + text[at:]


def redact(value: Any, counts: Counter[str], key: str | None = None) -> Any:
    """A record (or any JSON value in it) with its content strings redacted."""
    if key in KEEP:
        return value
    if isinstance(value, str):
        return redact_text(value, counts)
    if isinstance(value, dict):
        return {k: redact(v, counts, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, counts) for v in value]
    return value
