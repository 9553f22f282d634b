"""The README's gate example runs as written: approve with an edit, and reject."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    return [line for line in lines if not line.startswith("pip install")]  # checked by name, below


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


# ---- every ```bash block of the README is run -------------------------------------------

ROOT = README.parent
# Blocks whose commands another test runs as written (the heading they sit under).
RUN_ELSEWHERE = {
    "## Run a gateway for your team": "test_readme_gateway_commands_run_as_written, above",
    "### From decisions to datasets": "tests/test_exports.py::test_the_readmes_export_commands_run_as_written",
}
# Long-running commands, replaced by one that returns: (the README's words, what runs, why).
REPLACED = {
    "reviewer demo": (["demo", "--no-open"],
                      "builds the same demo queue without opening the app (the app is the Pilot tests')"),
    "reviewer": (["stats"], "the app opens this queue; its flows are the Pilot tests' (tests/test_tui.py)"),
    "pytest": (["--collect-only", "-q", "tests/test_rules.py"],
               "the suite cannot run inside itself: this checks the command collects tests"),
}
# Commands that reach servers that do not exist here: their options are parsed, not run.
PARSED_ONLY = {
    "reviewer web": "its --gateway is gw.example.com; test_readme_local_web_prints_its_secret_link starts it",
}


def bash_blocks() -> list[tuple[str, str]]:
    """(the heading above it, its text) for every ```bash block of the README."""
    found, heading = [], ""
    for part in re.split(r"(^#{1,4} [^\n]*$|^```bash\n.*?^```$)", README.read_text(), flags=re.S | re.M):
        if part.startswith("```bash"):
            found.append((heading, part[len("```bash\n"):-3]))
        elif re.match(r"#{1,4} ", part):
            heading = part
    return found


def commands(block: str) -> list[tuple[str, list[str]]]:
    """Each command of a block (continuations joined, `a && b` split, comments dropped), with
    the `# ...` lines under it: the output it prints."""
    out: list[tuple[str, list[str]]] = []
    for line in block.replace("\\\n", " ").splitlines():
        if line.startswith("# "):
            out[-1][1].append(line[2:])
        elif line.strip():
            out += [(re.split(r"\s+#", cmd)[0].strip(), []) for cmd in line.split(" && ")]
    return out


def check_install_line(cmd: str) -> None:
    """A pip line names this project and extras it has."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    words = shlex.split(cmd)[2:]
    spec = words[words.index("-e") + 1] if "-e" in words else words[0]
    name, _, extras = spec.partition("[")
    assert name in (".", project["name"]), cmd
    for extra in filter(None, extras.rstrip("]").split(",")):
        assert extra in project["optional-dependencies"], cmd


def test_every_bash_block_of_the_readme_is_run_by_a_test():
    headings = [h for h, _ in bash_blocks()]
    assert len(headings) >= 5
    for heading in RUN_ELSEWHERE:
        assert heading in headings, f"{heading} lost its commands, or its name: update RUN_ELSEWHERE"


def _parses(argv: list[str]) -> None:
    """Parse `reviewer ARGV` down to its command, as click would before running it."""
    import click

    from reviewer.cli import cli

    cmd: click.Command = cli
    ctx = cmd.make_context("reviewer", list(argv))
    while isinstance(cmd, click.Group):
        args = [*ctx._protected_args, *ctx.args]
        name, sub, rest = cmd.resolve_command(ctx, args)
        assert sub is not None, argv
        cmd, ctx = sub, sub.make_context(name or "", rest, parent=ctx)


def test_the_readmes_commands_run_as_written(tmp_path):
    """Every block not run elsewhere, in order, on one temp queue and a temp HOME, from a
    directory laid out as a clone (reviewer/samples/)."""
    (tmp_path / "reviewer").mkdir()
    (tmp_path / "reviewer" / "samples").symlink_to(ROOT / "reviewer" / "samples")  # hence python -P below
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "REVIEWER_DB": str(tmp_path / "q.db"),
           "HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config")}
    for k in ("REVIEWER_GATEWAY", "REVIEWER_TOKEN", "REVIEWER_NAME", "REVIEWER_POLICY"):
        env.pop(k, None)
    ran = []
    for heading, block in bash_blocks():
        if heading in RUN_ELSEWHERE:
            continue
        for cmd, expected in commands(block):
            words = shlex.split(cmd)
            if words[:2] == ["pip", "install"]:
                check_install_line(cmd)
                continue
            key = cmd if cmd in REPLACED else " ".join(words[:2])
            if key in PARSED_ONLY:
                _parses(words[1:])
                ran.append(key)
                continue
            if key in REPLACED:
                words = [words[0], *REPLACED[key][0]]
            argv = ([sys.executable, "-P", "-m", "reviewer", *words[1:]] if words[0] == "reviewer"
                    else [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", *words[1:]]
                    if words[0] == "pytest" else words)
            r = subprocess.run(argv, env=env, cwd=ROOT if words[0] == "pytest" else tmp_path,
                               capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            assert r.returncode == 0, f"{cmd}: {r.stderr}"
            for line in expected:
                assert line in r.stdout, f"{cmd} printed {r.stdout!r}, the README says {line!r}"
            ran.append(key)
    assert {"reviewer demo", "reviewer", "pytest", "reviewer ingest", "reviewer web"} <= set(ran)
    assert list((home / "data").rglob("demo.db")), "reviewer demo built no demo.db in the user data dir"


def test_the_demo_file_the_readme_names_is_removed_by_clean(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    text = README.read_text()
    assert "reviewer demo --clean" in text
    reviewer = [sys.executable, "-m", "reviewer", "demo"]
    built = subprocess.run([*reviewer, "--no-open", "--items", "20"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0 and "reviewer demo --clean" in built.stdout + built.stderr, built.stderr
    assert list((tmp_path / "data").rglob("demo.db"))
    subprocess.run([*reviewer, "--clean"], env=env, capture_output=True, timeout=60, check=True)
    assert not list((tmp_path / "data").rglob("demo.db"))


def test_readme_local_web_prints_its_secret_link(tmp_path):
    """`reviewer web` on a local queue, started as the README says: it comes up and prints a
    link holding a per-run secret, and the page answers only with it."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert "http://127.0.0.1:8000/?token=" in README.read_text()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "REVIEWER_DB": str(tmp_path / "q.db"),
           "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("REVIEWER_GATEWAY", None)
    proc = subprocess.Popen([sys.executable, "-m", "reviewer", "web", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        link = None
        assert proc.stdout is not None
        for line in proc.stdout:
            m = re.search(rf"http://127\.0\.0\.1:{port}/\?token=\S+", line)
            if m:
                link = m.group(0)
                break
        assert link, "reviewer web printed no link"
        with httpx.Client(follow_redirects=True, timeout=5) as browser:  # keeps the cookie the link sets
            for _ in range(300):
                try:
                    if browser.get(link).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            assert browser.get(f"http://127.0.0.1:{port}/").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code != 200  # no secret, no app
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_the_readmes_false_lines_stay_gone():
    text = README.read_text()
    assert "../shared/data" not in text
    samples = {json.loads(line)["queue"] for f in (ROOT / "reviewer" / "samples").glob("*.jsonl")
               for line in f.read_text().splitlines() if line.strip()}
    for page in (README, *sorted((ROOT / "docs").glob("*.md"))):
        for queue in re.findall(r"--queue (\S+)", page.read_text()):
            if queue in {"finchat", "finchat-summaries"} or queue.startswith("finchat"):
                assert queue in samples, f"{page.name}: --queue {queue}"


def test_readme_links_resolve():
    for page in (README, *sorted((ROOT / "docs").glob("*.md"))):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links {target}"


def test_the_test_database_comes_from_reviewer_test_pg(tmp_path):
    """REVIEWER_TEST_PG alone says where the PostgreSQL tests go: an unreachable one is skipped,
    whatever answers on the default."""
    probe = "import conftest; print(conftest.PG_OK, conftest.PG_DSN)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path]),
           "REVIEWER_TEST_PG": "postgresql+psycopg://postgres@127.0.0.1:1/elsewhere"}
    r = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "False", r.stdout
    assert "REVIEWER_TEST_PG" in README.read_text().split("## Run the tests", 1)[1].split("\n## ", 1)[0]


@pytest.mark.postgres
def test_the_postgres_tests_run_in_another_database_named_by_reviewer_test_pg():
    from conftest import PG_BASE, PG_DSN, require_pg

    require_pg()
    import psycopg

    other = PG_BASE.rsplit("/", 1)[0] + "/postgres"  # a database every server has
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path]),
           "REVIEWER_TEST_PG": other}
    probe = ("import conftest, psycopg; print(conftest.PG_OK); "
             "print(psycopg.connect(conftest.PG_DSN).execute('select current_database()').fetchone()[0])")
    r = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "postgres"], r.stdout
    with psycopg.connect(PG_DSN):
        pass
