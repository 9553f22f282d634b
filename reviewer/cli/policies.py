"""`reviewer policy`: check a policy file and try calls against it."""

from __future__ import annotations

import click

from .base import cli, json_object, say


@cli.group()
def policy() -> None:
    """Approval policies: which tool calls are allowed, reviewed or denied."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_check(file: str) -> None:
    """Validate a policy FILE and list its rules in the order they are tried."""
    from ..policy import load_policy, warnings

    p = load_policy(file)
    for tool in p.schemas:
        say(f"schema: {tool} arguments must fit a JSON Schema")
    for i, r in enumerate(p.rules, 1):
        extra = "".join(f" {k}={v}" for k, v in (("risk", r.risk), ("timeout_s", r.timeout_s)) if v)
        when = " and ".join(c.text for c in r.when) or "always"
        say(f"{i}. {r.name}: {r.tool} when {when} -> {r.action}{extra}")
    for w in warnings(p):
        say(f"warning: {w}", err=True)
    say(f"ok: {len(p.rules)} rules; anything else -> review")


@policy.command("test")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--tool", required=True, help="The tool name the agent calls.")
@click.option("--arguments", "arguments_json", default="{}", metavar="JSON", help="The call's arguments.")
def policy_test(file: str, tool: str, arguments_json: str) -> None:
    """Show what FILE decides for one call, and why each rule did or did not match.

    \b
    reviewer policy test policy.toml --tool run_sql --arguments '{"statement": "SELECT 1"}'
    """
    from ..policy import load_policy

    args = json_object(arguments_json, "--arguments")
    v, steps, outside = load_policy(file).explain(tool, args)
    rule = f"rule {v.rule!r}" if v.rule else "no rule decided (default)"
    extra = "".join(f" {k}={val}" for k, val in (("risk", v.risk), ("timeout_s", v.timeout_s)) if val)
    say(f"{v.action}: {rule}{extra}")
    say(f"  because {v.why}")
    if outside and v.rule:
        say(f"  schema: outside the schema of {tool} ({outside}), so no rule may allow it")
    for i, st in enumerate(steps, 1):
        mark = "->" if st.decided else "  "
        say(f"{mark} {i}. {st.rule.name} ({st.rule.action}): {st.outcome}: {'; '.join(st.reasons)}")
