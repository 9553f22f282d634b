"""Approval policies: TOML rules mapping tools (globs) and argument conditions to
`allow`, `review` or `deny`, with a risk and a timeout. The first rule that matches decides;
with no match the answer is `review`.

    [tools.issue_refund]          # optional: a JSON Schema for the tool's arguments
    arguments = { type = "object", required = ["amount"], properties = { amount = { type = "number", exclusiveMinimum = 0 } } }

    [[rule]]
    name = "small refunds"
    tool = "issue_refund"
    when = ["amount > 0", "amount <= 100", "currency in ['EUR', 'USD']"]
    action = "allow"

    [[rule]]
    name = "no shell in prod"
    tool = "shell*"
    when = ["cwd ~ '^/srv/prod'"]
    action = "deny"

A condition is `FIELD OP VALUE`: FIELD is an argument name (dotted for nested objects),
OP one of `== != > >= < <= ~` (regex search, RE2 syntax) `in` `not in`, and VALUE a JSON or
Python-style literal (number, 'string', "string", [list], true/false/null). `FIELD exists`
tests presence.

Doubt means review. A condition is true, false, or *unknown*: its field is missing, or holds
another type than the value it is compared with (a list where a string was expected, a
string where a number was), or a number that is not finite. A rule is unknown when none of
its conditions is false and one is unknown. An unknown `allow` rule does not allow; an
unknown `deny` or `review` rule sends the call to review, so a renamed or reshaped argument
can never slip past a deny rule to a later allow. Arguments outside a tool's declared schema
are never allowed. Text is compared after NFKC normalisation with zero-width characters
removed, and regexes run on RE2, which takes linear time whatever the pattern.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import Invalid
from .vocab import HIGH_RISKS, RISKS

if TYPE_CHECKING:
    from .models import ActionItem

Verb = Literal["allow", "review", "deny"]
Outcome = Literal["match", "no match", "unknown", "other tool"]
_COND = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|!=|>=|<=|>|<|~|not in|in|exists)\s*(.*?)\s*$")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"))
DEFAULT_RISK = "high"
"""The risk of a call nobody rated: an action's default, and a policy rule's without `risk`."""


def max_risk(*risks: str | None) -> str:
    """The highest of `risks` (None: not given), DEFAULT_RISK when none is given; ValueError
    for a word that is not a risk."""
    given = [r for r in risks if r]
    for r in given:
        if r not in RISKS:
            raise ValueError(f"risk must be one of {', '.join(RISKS)}, got {r!r}")
    return max(given, key=RISKS.index) if given else DEFAULT_RISK


def normalise(text: str) -> str:
    """Text as conditions see it: NFKC, zero-width characters and soft hyphens removed."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)


def _kind(value: Any) -> str:
    """The JSON type of a value, as conditions compare them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list | tuple) else "object"


@cache
def _regex(pattern: str) -> Any:
    """Compile with RE2 (linear time: no pattern can stall a gate); ValueError if it can't."""
    import re2

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options=options)
    except re2.error as e:
        reason = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(f"bad regular expression ({reason}); RE2 syntax, which has no "
                         "backreferences or lookaround") from None


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any
    text: str
    pattern: Any = None  # the compiled RE2 regex, for `~`

    def evaluate(self, arguments: dict[str, Any]) -> tuple[bool | None, str]:
        """True, False or None (unknown), with why, phrased for `reviewer policy test`."""
        found, actual = _lookup(arguments, self.field)
        if self.op == "exists":
            return found, f"{self.field} is {'present' if found else 'missing'}"
        if not found:
            return None, f"{self.field} is missing"
        if isinstance(actual, float) and not math.isfinite(actual):
            return None, f"{self.field} is not a finite number"
        if self.op == "~":
            expected = {"string"}
        elif self.op in ("in", "not in"):
            expected = {_kind(v) for v in self.value}
        else:
            expected = {_kind(self.value)}
        if _kind(actual) not in expected:
            return None, f"{self.field} is a {_kind(actual)}, not a {' or '.join(sorted(expected))}"
        if isinstance(actual, str):
            actual = normalise(actual)
        if self.op == "~":
            result = self.pattern.search(actual) is not None
        elif self.op in ("in", "not in"):
            inside = actual in [normalise(v) if isinstance(v, str) else v for v in self.value]
            result = inside if self.op == "in" else not inside
        else:
            value = normalise(self.value) if isinstance(self.value, str) else self.value
            result = {"==": actual == value, "!=": actual != value, ">": actual > value,
                      ">=": actual >= value, "<": actual < value, "<=": actual <= value}[self.op]
        return result, f"{self.text} is {'true' if result else 'false'} ({self.field} = {_show(actual)})"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 60 else text[:59] + "…"


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
    pattern = None
    if op == "~":
        if not isinstance(value, str):
            raise ValueError(f"{text!r}: '~' needs a regular expression string")
        try:
            pattern = _regex(value)
        except ValueError as e:
            raise ValueError(f"{text!r}: {e}") from None
    if op in ("in", "not in"):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{text!r}: {op!r} needs a list, e.g. ['EUR', 'USD']")
        value = tuple(value)
    if op in (">", ">=", "<", "<=") and _kind(value) not in ("number", "string"):
        raise ValueError(f"{text!r}: {op!r} needs a number or a string")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{text!r}: the value must be a finite number")
    return Condition(name, op, value, text, pattern)


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

    def evaluate(self, tool: str, arguments: dict[str, Any]) -> tuple[Outcome, list[str]]:
        """Whether the rule matches the call, with the reason of each condition.

        Kleene logic: any false condition makes the rule `no match`; otherwise any unknown
        one makes it `unknown`."""
        if not fnmatch.fnmatchcase(tool, self.tool):
            return "other tool", [f"{tool} does not match {self.tool}"]
        results = [c.evaluate(arguments) for c in self.when]
        reasons = [why for _, why in results]
        if any(r is False for r, _ in results):
            return "no match", reasons
        if any(r is None for r, _ in results):
            return "unknown", reasons
        return "match", reasons or ["no conditions"]


@dataclass(frozen=True)
class Verdict:
    """What the policy says about one call. `rule` is None for the default (review)."""

    action: Verb
    rule: str | None = None
    risk: str | None = None
    timeout_s: float | None = None
    on_timeout: str | None = None
    why: str = "no rule matched"


@dataclass(frozen=True)
class Step:
    """One rule's part in a decision, for `reviewer policy test`."""

    rule: Rule
    outcome: Outcome
    reasons: list[str]
    decided: bool


@dataclass
class Policy:
    rules: list[Rule] = field(default_factory=list)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Tool name -> JSON Schema its arguments must satisfy to be allowed."""

    def evaluate(self, tool: str, arguments: dict[str, Any]) -> Verdict:
        return self.explain(tool, arguments)[0]

    def explain(self, tool: str, arguments: dict[str, Any]) -> tuple[Verdict, list[Step], str | None]:
        """The verdict, every rule's outcome in order, and why the arguments break the
        tool's schema (None when they fit or there is none)."""
        outside = self.schema_error(tool, arguments)
        verdict: Verdict | None = None
        steps = []
        for r in self.rules:
            outcome, reasons = r.evaluate(tool, arguments)
            decides = False
            if verdict is None:
                if r.action == "allow" and outcome == "match" and outside is None:
                    verdict, decides = Verdict("allow", r.name, r.risk, r.timeout_s, r.on_timeout,
                                               "every condition holds"), True
                elif r.action != "allow" and outcome in ("match", "unknown"):
                    # a deny or review rule that cannot be ruled out: a human looks
                    action: Verb = r.action if outcome == "match" else "review"
                    why = "every condition holds" if outcome == "match" else \
                        "it cannot be ruled out: " + "; ".join(reasons)
                    verdict, decides = Verdict(action, r.name, r.risk, r.timeout_s, r.on_timeout, why), True
            steps.append(Step(r, outcome, reasons, decides))
        if verdict is None:
            why = f"the arguments are outside the schema of {tool}: {outside}" if outside else "no rule matched"
            verdict = Verdict("review", why=why)
        return verdict, steps, outside

    def schema_error(self, tool: str, arguments: dict[str, Any]) -> str | None:
        schema = self.schemas.get(tool)
        if schema is None:
            return None
        error = next(iter(_validator()(schema).iter_errors(arguments)), None)
        if error is None:
            return None
        where = ".".join(str(p) for p in error.absolute_path) or "arguments"
        return f"{where}: {error.message}"


@cache
def _validator() -> Any:
    """JSON Schema 2020-12, with `pattern` run on RE2 like the rules' regexes."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, regex: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and _regex(regex).search(instance) is None:
            yield ValidationError(f"{_show(instance)} does not match {regex!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})


def _check_patterns(schema: Any) -> None:
    """Every `pattern` in a schema compiles on RE2 (ValueError naming the one that doesn't)."""
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str):
            _regex(schema["pattern"])
        for v in schema.values():
            _check_patterns(v)
    elif isinstance(schema, list):
        for v in schema:
            _check_patterns(v)


_RULE_KEYS = {"name", "tool", "when", "action", "risk", "timeout_s", "on_timeout"}


def parse_policy(data: dict[str, Any], source: str = "policy") -> Policy:
    """Build a Policy from parsed TOML; every problem is reported with the rule it is in."""
    unknown = set(data) - {"rule", "tools"}
    if unknown:
        raise Invalid(f"{source}: unknown top-level key(s) {sorted(unknown)}",
                      hint="rules go in [[rule]] tables, argument schemas in [tools.NAME]")
    return Policy([_rule(raw, i, source) for i, raw in enumerate(data.get("rule", []), 1)],
                  _schemas(data.get("tools", {}), source))


def _schemas(tools: Any, source: str) -> dict[str, dict[str, Any]]:
    if not isinstance(tools, dict):
        raise Invalid(f"{source}: [tools] must be a table of tool names")
    out = {}
    for name, spec in tools.items():
        where = f"{source}: tools.{name}"
        if not isinstance(spec, dict) or set(spec) - {"arguments"}:
            raise Invalid(f"{where}: only 'arguments' (a JSON Schema) may be set")
        schema = spec.get("arguments")
        if schema is None:
            continue
        from jsonschema import SchemaError

        try:
            _validator().check_schema(schema)
            _check_patterns(schema)
        except SchemaError as e:
            raise Invalid(f"{where}.arguments: not a valid JSON Schema: {e.message}") from None
        except ValueError as e:
            raise Invalid(f"{where}.arguments: {e}") from None
        out[name] = schema
    return out


def _rule(raw: Any, i: int, source: str) -> Rule:
    where = f"{source}: rule {i}" + (f" ({raw.get('name')!r})" if isinstance(raw, dict) and raw.get("name") else "")
    if not isinstance(raw, dict):
        raise Invalid(f"{where}: must be a table")
    extra = set(raw) - _RULE_KEYS
    if extra:
        raise Invalid(f"{where}: unknown key(s) {sorted(extra)}", hint=f"allowed: {', '.join(sorted(_RULE_KEYS))}")
    action = raw.get("action")
    if action == "auto-approve":  # the word the design uses for allow
        action = "allow"
    if action not in ("allow", "review", "deny"):
        raise Invalid(f"{where}: action must be allow (or auto-approve), review or deny, got {action!r}")
    tool = raw.get("tool", "*")
    if not isinstance(tool, str) or not tool:
        raise Invalid(f"{where}: tool must be a glob such as 'issue_*'")
    risk = raw.get("risk")
    if risk is not None and risk not in RISKS:
        raise Invalid(f"{where}: risk must be {', '.join(RISKS[:-1])} or {RISKS[-1]}, got {risk!r}")
    timeout = raw.get("timeout_s")
    if timeout is not None and (not isinstance(timeout, int | float) or not 0 < timeout < math.inf):
        raise Invalid(f"{where}: timeout_s must be a positive number of seconds")
    on_timeout = raw.get("on_timeout")
    if on_timeout not in (None, "reject", "approve"):
        raise Invalid(f"{where}: on_timeout must be reject or approve")
    if on_timeout == "approve" and (risk or DEFAULT_RISK) in HIGH_RISKS:
        raise Invalid(f"{where}: on_timeout = 'approve' is refused for {risk or DEFAULT_RISK} risk",
                      hint="only low and medium risk actions may approve themselves on timeout")
    when = raw.get("when", [])
    if isinstance(when, str):
        when = [when]
    try:
        conds = tuple(parse_condition(c) for c in when)
    except (ValueError, TypeError) as e:
        raise Invalid(f"{where}: {e}") from None
    return Rule(str(raw.get("name") or f"rule {i}"), tool, action, conds, risk,
                float(timeout) if timeout else None, on_timeout)


def warnings(policy: Policy) -> list[str]:
    """Rules that allow more than their author likely meant, for `reviewer policy check`."""
    out = []
    for i, r in enumerate(policy.rules, 1):
        if r.action == "allow" and not r.when and not any(fnmatch.fnmatchcase(t, r.tool) for t in policy.schemas):
            out.append(f"rule {i} ({r.name}) allows every call of {r.tool} that the rules before it "
                       "miss; say what is allowed (conditions or a [tools.NAME] schema) instead of "
                       "listing what is not")
    return out


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Invalid(f"policy file {p} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise Invalid(f"{p}: not valid TOML: {e}") from None
    return parse_policy(data, str(p))


def applied(item: ActionItem, verdict: Verdict) -> ActionItem:
    """`item` as the policy has it, the policy being the authority: the higher of the item's
    risk and the rule's (DEFAULT_RISK when the rule names none), and that risk's priority;
    the rule's timeout where the item sets none; `on_timeout` approve only where the rule says
    so for a risk that may approve itself, reject otherwise, whatever the item asked. Used by
    the gateway, which applies its own policy to every action it receives, so an agent
    cannot skip it or lower it."""
    from .models import ActionItem
    from .vocab import risk_priority

    risk = max_risk(item.risk, verdict.risk or DEFAULT_RISK)
    data = item.model_dump(exclude_none=True)
    data.update(risk=risk, priority=min(item.priority, risk_priority(risk)),
                on_timeout="approve" if verdict.on_timeout == "approve" and risk not in HIGH_RISKS else "reject")
    if item.timeout_s is None and item.expires_at is None and verdict.timeout_s is not None:
        data["timeout_s"] = verdict.timeout_s
    return ActionItem.model_validate(data)
