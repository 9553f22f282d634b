"""`reviewer export --redact`: PII in exported records replaced by typed placeholders.

What is redacted: every string of a record, and every key of its objects, at any depth
(content, names, source fields, flag details, arguments, comments...), so a field added to a
format later is redacted too. Kept as they are: the record's top-level `id` (the item id an
incremental export keys on) and the values of `KEPT`, which the system makes (decision ids,
timestamps); in `TRACE_IDS` only addresses are redacted.

How (the `redact` extra): each string is first read through a view that keeps its length
(ASCII upper case; non-breaking, narrow, thin and ideographic spaces as spaces; dash variants
as `-`; full-width forms as ASCII; zero-width characters and soft hyphens dropped, with
positions mapped back). On that view:
- emails: presidio's EmailRecognizer's characters, at any domain (internal and example
  domains are people's addresses too), widened to what it does not take: a quoted local part,
  an address literal (`x@[10.0.0.1]`), spaces around `@`, `[at]`/`(at)`/`{at}` and `[dot]`.
  The bare words `alice at example dot com` count only with a spelled `dot` and a last label
  that is a public suffix (tldextract's bundled list, never fetched), so `look at
  docs.python.org` is left alone. One expression, linear in the text (presidio's own takes
  quadratic time on a long dotted token: minutes for 100 kB);
- phone numbers: presidio's PhoneRecognizer (phonenumbers, valid numbers of its regions and
  any international number), and numbers that are only possible where one of its context
  words (`phone`, `call`, `mobile`...) comes just before;
- IBANs: presidio's IbanRecognizer, and runs of letter-digit groups split by spaces, dashes or
  dots that python-stdnum validates (mod 97, the country's length and format);
- payment cards: 13 to 19 digits in groups split by spaces, dashes or dots that pass the Luhn
  check (python-stdnum). Presidio's card pattern takes 17 digits at most, split only by `-`
  or a space, and is not used.
Overlapping finds become one placeholder over their union, so no piece of either is left.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from typing import Any

PLACEHOLDERS = {"EMAIL_ADDRESS": "<EMAIL>", "PHONE_NUMBER": "<PHONE>", "CREDIT_CARD": "<CARD>", "IBAN_CODE": "<IBAN>"}
KEPT = frozenset({"decision_id", "decided_at", "created_at"})
"""Keys whose values the system makes, not the people or agents whose data is exported."""
TRACE_IDS = frozenset({"trace_id", "span_id", "observation_id", "session_id"})
"""Keys that join a record back to its trace: only addresses are redacted in them (their digits
are ids, and a phone number found in `tr_83122301556` would break the join)."""

_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"
_TABLE = str.maketrans({
    **{c: " " for c in _SPACES}, **{c: "-" for c in _DASHES},
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}, **{chr(0xFF41 + i): chr(0x41 + i) for i in range(26)},
    **{chr(0x61 + i): chr(0x41 + i) for i in range(26)},
    "\uff20": "@", "\ufe6b": "@", "\uff0e": ".", "\u3002": ".", "\uff0b": "+",
})
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff]")
_DIGITS = str.maketrans("", "", "0123456789")

# On the upper-case view. An address's parts, and the ways people write `@` and `.` out.
_LOCAL = r"""(?:"[^"\r\n]{1,64}"|[\w!#$%&'*+/=?^`{|}~-]+(?:\.+[\w!#$%&'*+/=?^`{|}~-]+)*)"""
_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT = rf"(?:[ \t]*@[ \t]*|[ \t]*{_OPEN}[ \t]*AT[ \t]*{_CLOSE}[ \t]*|[ \t]+(?P<word>AT)[ \t]+)"
_DOT = rf"(?:\.|[ \t]*{_OPEN}[ \t]*DOT[ \t]*{_CLOSE}[ \t]*|[ \t]+DOT[ \t]+)"
_LABEL = r"\w+(?:-+\w+)*"
_EMAIL = re.compile(rf"(?<![\w.+-]){_LOCAL}{_AT}(?:\[[0-9A-F:.]{{3,45}}\]|{_LABEL}(?:{_DOT}{_LABEL}){{1,8}})(?![\w-])")
_SPELLED_DOT = re.compile(rf"{_OPEN}[ \t]*DOT[ \t]*{_CLOSE}|[ \t]DOT[ \t]")
_MAYBE_EMAIL = re.compile(r"@|\bAT\b")

# Digit groups split by one space, dash or dot: where cards and phone numbers are.
_DIGIT_RUN = re.compile(r"(?<!\d)\+?\(?\d+\)?(?:(?:[ .\-/]{1,2}|(?<=\)))\(?\d+\)?)*")
_GROUP = re.compile(r"\d+")
_CARD_SEP = re.compile(r"\d+(?:[ .-]\d+)*")
# Two letters, two check digits, then groups of letters and digits, up to an IBAN's 34.
_IBAN_RUN = re.compile(r"(?<![A-Z0-9])[A-Z]{2}[ .-]?\d{2}(?:[ .-]?[A-Z0-9]{1,4}+){3,9}(?![A-Z0-9])")
_IBAN_GROUP = re.compile(r"[A-Z0-9]+")
_PHONE_CONTEXT_BEFORE = 24  # characters before a number searched for a context word
_PHONE_MIN_DIGITS = 7

Span = tuple[int, int, str]
RULES = 2
"""The version of what is redacted, in the manifest: an incremental export keeps records only
from a file redacted by these rules."""


@cache
def _engine() -> dict[str, Any]:
    """presidio's recognizers, phonenumbers, stdnum and tldextract (the `redact` extra)."""
    try:
        import phonenumbers
        import tldextract
        from presidio_analyzer.predefined_recognizers import IbanRecognizer, PhoneRecognizer
        from stdnum import iban, luhn
    except ImportError:
        from .errors import Invalid
        from .extras import install_command

        raise Invalid("--redact needs presidio, phonenumbers, python-stdnum and tldextract",
                      hint=install_command("redact")) from None

    phone = PhoneRecognizer()
    return {
        "iban": IbanRecognizer(), "phone": phone,
        "phone_context": re.compile(r"\b(?:" + "|".join(w.upper() for w in (*phone.context, "tel", "fax")) + r")\b"),
        "phonenumbers": phonenumbers, "luhn": luhn, "iban_valid": iban.is_valid,
        "suffixes": tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None),
    }


_recognizers = _engine  # the name export.py checks the extra with


def _view(text: str) -> tuple[str, list[int] | None]:
    """The text as the recognizers read it, and (when characters were dropped) where each of
    its characters was in `text`."""
    view = text.translate(_TABLE)
    if not _INVISIBLE.search(view):
        return view, None
    at = [i for i, c in enumerate(view) if not _INVISIBLE.match(c)]
    return "".join(view[i] for i in at), at


def _emails(view: str, e: dict[str, Any]) -> list[Span]:
    if not _MAYBE_EMAIL.search(view):
        return []
    found: list[Span] = []
    for m in _EMAIL.finditer(view):
        if m.group("word"):  # `alice at example dot com`: a spelled dot and a real suffix
            last = re.split(rf"{_DOT}", m.group(0))[-1]
            if not _SPELLED_DOT.search(m.group(0)) or not e["suffixes"]("x." + last.lower()).suffix:
                continue
        found.append((m.start(), m.end(), "EMAIL_ADDRESS"))
    return found


def _cards(run: str, offset: int, e: dict[str, Any]) -> list[Span]:
    """Whole groups of `run` with 13 to 19 digits that pass Luhn, longest first from each group."""
    found: list[Span] = []
    for part in _CARD_SEP.finditer(run):
        groups = list(_GROUP.finditer(part.group(0)))
        i = 0
        while i < len(groups):
            best, digits = None, 0
            for j in range(i, len(groups)):
                digits += len(groups[j].group(0))
                if digits > 19:
                    break
                if digits >= 13 and e["luhn"].is_valid("".join(g.group(0) for g in groups[i:j + 1])):
                    best = j
            if best is None:
                i += 1
                continue
            base = offset + part.start()
            found.append((base + groups[i].start(), base + groups[best].end(), "CREDIT_CARD"))
            i = best + 1
    return found


def _phones(view: str, start: int, end: int, e: dict[str, Any]) -> list[Span]:
    """Phone numbers in view[start:end] (a run of digits), read with one character around it."""
    pn = e["phonenumbers"]
    lo, hi = max(start - 1, 0), min(end + 1, len(view))
    window = view[lo:hi]
    before = view[max(start - _PHONE_CONTEXT_BEFORE, 0):start]
    leniency = pn.Leniency.POSSIBLE if e["phone_context"].search(before) else pn.Leniency.VALID
    found: list[Span] = []
    for region in e["phone"].supported_regions:
        found += [(lo + m.start, lo + m.end, "PHONE_NUMBER") for m in pn.PhoneNumberMatcher(window, region, leniency)]
    return found


def _numbers(view: str, e: dict[str, Any]) -> list[Span]:
    found: list[Span] = []
    for m in _DIGIT_RUN.finditer(view):
        run = m.group(0)
        digits = len(run) - len(run.translate(_DIGITS))
        if digits >= _PHONE_MIN_DIGITS:
            found += _phones(view, m.start(), m.end(), e)
        if digits >= 13:
            found += _cards(run, m.start(), e)
    return found


def _ibans(view: str, e: dict[str, Any]) -> list[Span]:
    if not _IBAN_RUN.search(view):  # every IBAN either finder takes is such a run
        return []
    found = [(r.start, r.end, "IBAN_CODE") for r in e["iban"].analyze(view, ["IBAN_CODE"], None)]
    for m in _IBAN_RUN.finditer(view):
        groups = list(_IBAN_GROUP.finditer(m.group(0)))
        for j in range(len(groups), 0, -1):  # the longest prefix of whole groups that validates
            if e["iban_valid"](m.group(0)[: groups[j - 1].end()]):
                found.append((m.start(), m.start() + groups[j - 1].end(), "IBAN_CODE"))
                break
    return found


def find(text: str, *, numbers: bool = True) -> list[Span]:
    """(start, end, entity) of each piece of PII in `text` (only addresses without `numbers`),
    in order, overlaps merged."""
    e = _engine()
    view, at = _view(text)
    found = _emails(view, e) + (_numbers(view, e) + _ibans(view, e) if numbers else [])
    spans = sorted(found, key=lambda s: (s[0], -s[1]))
    merged: list[Span] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            s, t, k = merged[-1]
            merged[-1] = (s, max(t, end), k if t - s >= end - start else kind)
        else:
            merged.append((start, end, kind))
    if at is None:
        return merged
    return [(at[s], at[t - 1] + 1, k) for s, t, k in merged]


def redact_text(text: str, counts: Counter[str], *, numbers: bool = True) -> str:
    """`text` with each recognized span replaced by its placeholder."""
    if len(text) < 6:  # nothing shorter is an address, a number or a card
        return text
    out, at = [], 0
    for start, end, kind in find(text, numbers=numbers):
        out += [text[at:start], PLACEHOLDERS[kind]]
        counts[PLACEHOLDERS[kind]] += 1
        at = end
    return "".join(out) + text[at:]


def _walk(value: Any, counts: Counter[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, counts)
    if isinstance(value, dict):
        return {redact_text(k, counts) if isinstance(k, str) else k: _field(k, v, counts) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, counts) for v in value]
    return value


def _field(key: Any, value: Any, counts: Counter[str]) -> Any:
    if key in KEPT:
        return value
    if key in TRACE_IDS and isinstance(value, str):
        return redact_text(value, counts, numbers=False)
    return _walk(value, counts)


def redact(record: Any, counts: Counter[str]) -> Any:
    """A record as it leaves in an export, with every string redacted but its `id`, `KEPT`
    and the numbers of `TRACE_IDS`."""
    if not isinstance(record, dict):
        return _walk(record, counts)
    return {k: v if k == "id" else _field(k, v, counts) for k, v in record.items()}
