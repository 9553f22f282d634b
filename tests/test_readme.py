"""The README's gate example runs as written: approve with an edit, and reject."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from reviewer.models import DecisionIn

from factories import pending_action

README = Path(__file__).resolve().parents[1] / "README.md"


def agent_code() -> str:
    block = re.search(r"```python\n(# agent\.py\n.*?)```", README.read_text(), re.S)
    assert block, "the README lost its agent example"
    return block.group(1)


def run_agent(tmp_path: Path, decide) -> str:
    db = tmp_path / "q.db"
    env = {**os.environ, "REVIEWER_DB": str(db), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", agent_code()], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    found = pending_action(db)
    if found is not None:
        decide(*found)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out.strip()


def test_readme_agent_runs_with_edited_arguments(tmp_path):
    def edit(q, item_id):
        q.decide(item_id, DecisionIn(verdict="correct", reviewer="alice",
                                     arguments={"order_id": "55120", "amount": 249.0}))

    assert run_agent(tmp_path, edit) == "refunded 249.0 on order 55120"


def test_readme_agent_hears_the_rejection(tmp_path):
    def reject(q, item_id):
        q.decide(item_id, DecisionIn(verdict="reject", reviewer="alice", reasons=["policy_violation"],
                                     comment="order total is 249"))

    out = run_agent(tmp_path, reject)
    assert out.startswith("rejected: A human reviewer (alice) rejected the call issue_refund")
    assert "policy_violation" in out and "order total is 249" in out


def gateway_commands() -> list[str]:
    text = README.read_text()
    block = re.search(r"## Run a gateway for your team\n.*?```bash\n(.*?)```", text, re.S)
    assert block, "the README lost its gateway section"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gateway_commands_run_as_written(tmp_path):
    """The README's gateway commands, run in order on a free port. The TUI line runs as
    `reviewer stats` with the same environment (the TUI against a live gateway has its own
    Pilot test); alice then approves the agent's request through the gateway."""
    import shlex
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "agent.py").write_text(agent_code())
    commands = gateway_commands()
    assert len(commands) <= 6
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for k in ("REVIEWER_DB", "REVIEWER_GATEWAY", "REVIEWER_TOKEN"):
        env.pop(k, None)
    tokens: dict[str, str] = {}
    server = agent = None

    def argv(line: str) -> tuple[dict[str, str], list[str]]:
        line = line.replace("8765", str(port)).replace("<alice's token>", tokens.get("alice", ""))
        line = line.replace("<agent's token>", tokens.get("agent", "")).rstrip("&").strip()
        words = shlex.split(line)
        extra = {}
        while "=" in words[0]:
            k, v = words.pop(0).split("=", 1)
            extra[k] = v
        if words[0] == "reviewer":
            words = [sys.executable, "-m", "reviewer", *words[1:]]
        elif words[0] == "python":
            words[0] = sys.executable
        return {**env, **extra}, words

    try:
        for line in commands:
            e, words = argv(line)
            if line.endswith("&"):
                server = subprocess.Popen(words, env=e, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True)
                _wait_http(f"http://127.0.0.1:{port}/healthz")
            elif "token create" in line:
                out = subprocess.run(words, env=e, cwd=tmp_path, capture_output=True, text=True, timeout=60)
                assert out.returncode == 0, out.stderr
                tokens["alice" if "alice" in line else "agent"] = out.stdout.strip()
            elif words[-1] == "agent.py":
                agent = subprocess.Popen(words, env=e, cwd=tmp_path, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
            else:  # alice's TUI, as `reviewer stats`
                assert words[-1] == "reviewer" or words[-1] == "-m" or words[-2:] == ["-m", "reviewer"]
                out = subprocess.run([*words, "stats"], env=e, cwd=tmp_path, capture_output=True, text=True,
                                     timeout=60)
                assert out.returncode == 0 and "pending" in out.stdout, out.stderr
                alice_env = e
        assert agent is not None and server is not None
        reviewer = [sys.executable, "-m", "reviewer"]
        item = None
        for _ in range(600):
            out = subprocess.run([*reviewer, "list", "--kind", "action", "--json"], env=alice_env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=60)
            rows = [json.loads(x) for x in out.stdout.splitlines() if x.strip()] if out.returncode == 0 else []
            if rows:
                item = rows[0]["id"]
                break
            time.sleep(0.1)
        assert item, "the agent's request never reached the gateway"
        done = subprocess.run([*reviewer, "decide", item, "--approve"], env=alice_env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        out, err = agent.communicate(timeout=60)
        assert agent.returncode == 0, err
        assert out.strip() == "refunded 1249.0 on order 55120"
    finally:
        for proc in (agent, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def _wait_http(url: str) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} never answered")
