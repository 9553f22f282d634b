"""A command whose extra is not installed says so in one line, with the install command; the
docs' install lines name this project's distribution, not the unrelated `reviewer` on PyPI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer.extras import DIST

ROOT = Path(__file__).resolve().parents[1]
BLOCKERS = Path(__file__).with_name("blockers")


@pytest.mark.parametrize(("args", "module", "extra"), [
    (["serve"], "uvicorn", "server"),
    (["serve"], "fastapi", "server"),
    (["web"], "textual_serve", "web"),
    (["suggest", "--model", "openai/gpt-4o-mini"], "litellm", "assist"),
    (["export", "--redact", "-o", "out.jsonl"], "presidio_analyzer", "redact"),
])
def test_a_missing_extra_is_one_line_naming_the_install_command(tmp_path, args, module, extra):
    db = f"sqlite:///{tmp_path / 'q.db'}"
    from reviewer.storage import SqlQueue

    from factories import output

    q = SqlQueue.open(db)
    q.enqueue(output(1))
    q.decide("out-1", __import__("reviewer").DecisionIn(verdict="approve", reviewer="ann"))
    q.close()
    env = {**os.environ, "PYTHONPATH": str(BLOCKERS), "BLOCK_MODULES": module}
    r = subprocess.run([sys.executable, "-m", "reviewer", "--db", db, *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"pip install '{DIST}[{extra}]'" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2, r.stderr


def install_lines() -> list[tuple[str, str]]:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "SECURITY.md"]
    return [(f"{path.name}: {line.strip()}", line) for path in docs
            for line in path.read_text().splitlines() if "pip install" in line]


def test_every_install_line_in_the_docs_names_this_project():
    lines = install_lines()
    assert len(lines) > 5
    for where, line in lines:
        for spec in re.findall(r"pip install\s+(?:-[-\w]+\s+)*(['\"]?[\w.\-\[\],]+['\"]?)", line):
            name = spec.strip("'\"").split("[")[0]
            assert name in (".", DIST) or name.startswith("-e") or name in KNOWN_OTHERS, where


# packages the docs tell you to install beside this project (frameworks, consumers)
KNOWN_OTHERS = {"langgraph", "openai-agents", "inspect-ai", "datasets", "trl"}
