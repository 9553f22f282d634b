"""Approval policies: TOML rules mapping tools (globs) and argument conditions to
`allow`, `review` or `deny`, with a risk and a timeout. The first matching rule wins; with no
match the answer is `review`.

    [[rule]]
    name = "small refunds"
    tool = "issue_refund"
    when = ["amount <= 100", "currency in ['EUR', 'USD']"]
    action = "allow"

    [[rule]]
    name = "destructive sql"
    tool = "run_sql"
    when = ['statement ~ "^\\s*(DELETE|DROP|TRUNCATE)"']
    action = "review"
    risk = "critical"
    timeout_s = 600

    [[rule]]
    name = "no shell in prod"
    tool = "shell*"
    when = ["cwd ~ '^/srv/prod'"]
    action = "deny"

A condition is `FIELD OP VALUE`: FIELD is an argument name (dotted for nested objects),
OP one of `== != > >= < <= ~` (regex search) `in` `not in`, and VALUE a JSON or
Python-style literal (number, 'string', "string", [list], true/false/null). `FIELD exists`
tests presence. A condition on a missing field, or of mismatched types, does not match.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import Invalid

Verb = Literal["allow", "review", "deny"]
_COND = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|!=|>=|<=|>|<|~|not in|in|exists)\s*(.*?)\s*$")
_HIGH = ("high", "critical")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any
    text: str

    def matches(self, arguments: dict[str, Any]) -> bool:
        found, actual = _lookup(arguments, self.field)
        if self.op == "exists":
            return found
        if not found:
            return False
        try:
            if self.op == "~":
                return isinstance(actual, str) and re.search(self.value, actual) is not None
            if self.op == "in":
                return actual in self.value
            if self.op == "not in":
                return actual not in self.value
            if self.op == "==":
                return actual == self.value
            if self.op == "!=":
                return actual != self.value
            if isinstance(actual, bool) or not isinstance(actual, int | float | str):
                return False
            return {">": actual > self.value, ">=": actual >= self.value,
                    "<": actual < self.value, "<=": actual <= self.value}[self.op]
        except TypeError:
            return False


def _lookup(arguments: dict[str, Any], path: str) -> tuple[bool, Any]:
    cur: Any = arguments
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def parse_condition(text: str) -> Condition:
    m = _COND.match(text)
    if not m:
        raise ValueError(f"cannot read condition {text!r}; expected FIELD OP VALUE, e.g. 'amount > 500'")
    name, op, raw = m.groups()
    if op == "exists":
        if raw:
            raise ValueError(f"{text!r}: 'exists' takes no value")
        return Condition(name, op, None, text)
    if not raw:
        raise ValueError(f"{text!r}: missing the value after {op!r}")
    value = _literal(raw)
    if op == "~":
        if not isinstance(value, str):
            raise ValueError(f"{text!r}: '~' needs a regular expression string")
        try:
            re.compile(value)
        except re.error as e:
            raise ValueError(f"{text!r}: bad regular expression: {e}") from None
    if op in ("in", "not in") and not isinstance(value, list | tuple):
        raise ValueError(f"{text!r}: {op!r} needs a list, e.g. ['EUR', 'USD']")
    if op in (">", ">=", "<", "<=") and not isinstance(value, int | float | str):
        raise ValueError(f"{text!r}: {op!r} needs a number or a string")
    return Condition(name, op, value, text)


def _literal(raw: str) -> Any:
    """A JSON literal, else a Python literal, else the bare word as a string."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


@dataclass(frozen=True)
class Rule:
    name: str
    tool: str
    action: Verb
    when: tuple[Condition, ...] = ()
    risk: str | None = None
    timeout_s: float | None = None
    on_timeout: str | None = None

    def matches(self, tool: str, arguments: dict[str, Any]) -> bool:
        return fnmatch.fnmatchcase(tool, self.tool) and all(c.matches(arguments) for c in self.when)


@dataclass(frozen=True)
class Verdict:
    """What the policy says about one call. `rule` is None for the default (review)."""

    action: Verb
    rule: str | None = None
    risk: str | None = None
    timeout_s: float | None = None
    on_timeout: str | None = None


@dataclass
class Policy:
    rules: list[Rule] = field(default_factory=list)

    def evaluate(self, tool: str, arguments: dict[str, Any]) -> Verdict:
        for r in self.rules:
            if r.matches(tool, arguments):
                return Verdict(r.action, r.name, r.risk, r.timeout_s, r.on_timeout)
        return Verdict("review")


_RULE_KEYS = {"name", "tool", "when", "action", "risk", "timeout_s", "on_timeout"}


def parse_policy(data: dict[str, Any], source: str = "policy") -> Policy:
    """Build a Policy from parsed TOML; every problem is reported with the rule it is in."""
    unknown = set(data) - {"rule"}
    if unknown:
        raise Invalid(f"{source}: unknown top-level key(s) {sorted(unknown)}", hint="rules go in [[rule]] tables")
    rules = []
    for i, raw in enumerate(data.get("rule", []), 1):
        where = f"{source}: rule {i}" + (f" ({raw.get('name')!r})" if isinstance(raw, dict) and raw.get("name") else "")
        if not isinstance(raw, dict):
            raise Invalid(f"{where}: must be a table")
        extra = set(raw) - _RULE_KEYS
        if extra:
            raise Invalid(f"{where}: unknown key(s) {sorted(extra)}", hint=f"allowed: {', '.join(sorted(_RULE_KEYS))}")
        action = raw.get("action")
        if action == "auto-approve":  # DESIGN section 4's word for allow
            action = "allow"
        if action not in ("allow", "review", "deny"):
            raise Invalid(f"{where}: action must be allow (or auto-approve), review or deny, got {action!r}")
        tool = raw.get("tool", "*")
        if not isinstance(tool, str) or not tool:
            raise Invalid(f"{where}: tool must be a glob such as 'issue_*'")
        risk = raw.get("risk")
        if risk is not None and risk not in ("low", "medium", "high", "critical"):
            raise Invalid(f"{where}: risk must be low, medium, high or critical, got {risk!r}")
        timeout = raw.get("timeout_s")
        if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
            raise Invalid(f"{where}: timeout_s must be a positive number of seconds")
        on_timeout = raw.get("on_timeout")
        if on_timeout not in (None, "reject", "approve"):
            raise Invalid(f"{where}: on_timeout must be reject or approve")
        if on_timeout == "approve" and (risk or "high") in _HIGH:
            raise Invalid(f"{where}: on_timeout = 'approve' is refused for {risk or 'high'} risk",
                          hint="only low and medium risk actions may approve themselves on timeout")
        when = raw.get("when", [])
        if isinstance(when, str):
            when = [when]
        try:
            conds = tuple(parse_condition(c) for c in when)
        except (ValueError, TypeError) as e:
            raise Invalid(f"{where}: {e}") from None
        rules.append(Rule(str(raw.get("name") or f"rule {i}"), tool, action, conds, risk,
                          float(timeout) if timeout else None, on_timeout))
    return Policy(rules)


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Invalid(f"policy file {p} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise Invalid(f"{p}: not valid TOML: {e}") from None
    return parse_policy(data, str(p))
