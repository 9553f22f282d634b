"""`reviewer demo`: traffic that reads like a real queue's, a build that shows its progress to
the end, and a closing line that says where the file is and how to remove it."""

from __future__ import annotations

import difflib
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewer import demo
from reviewer.cli import cli
from reviewer.demo_data import demo_items
from reviewer.models import parse_item
from reviewer.storage import SqlQueue

from factories import output

# Words an output of each queue cannot do without: an earnings summary names its figures, a
# support answer the policy's subject, a code review a line of the diff, a German translation
# its article, a sales email its greeting.
DOMAIN = {
    "finchat-summaries": ("net sales", "revenue", "ebit", "net income"),
    "support-bot": ("return", "delivery", "reset link", "invoices", "warranty"),
    "rag-qa": ("api key", "logs", "leave", "deploy"),
    "code-review-bot": ("line ",),
    "translation": ("ihre ", "ihr "),
    "sales-emails": ("hi ", "best regards"),
}
NOT_CODE = ("shipped", "delivery", "refund", "revenue", "escalated")  # support and finance talk
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")


@pytest.fixture(scope="module")
def generated() -> list[dict]:
    return [d for d in demo_items(1500, seed=3) if d["id"].startswith("gen-")]


def test_each_queues_outputs_speak_its_domain(generated):
    outputs = [d for d in generated if d["kind"] == "output"]
    assert {d["queue"] for d in outputs} == set(DOMAIN)
    for d in outputs:
        text = d["output"].lower()
        assert any(w in text for w in DOMAIN[d["queue"]]), (d["queue"], d["output"])
        if d["queue"] == "code-review-bot":
            assert not any(w in text for w in NOT_CODE), d["output"]


def _spans(out: str, ref: str) -> list[tuple[list[str], list[str]]]:
    """The changed (output words, reference words) spans, changes less than three words apart
    taken as one rewritten phrase."""
    a, b = out.split(), ref.split()
    spans: list[list[int]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if spans and i1 - spans[-1][1] < 3 and j1 - spans[-1][3] < 3:
            spans[-1][1], spans[-1][3] = i2, j2
        else:
            spans.append([i1, i2, j1, j2])
    return [(a[i1:i2], b[j1:j2]) for i1, i2, j1, j2 in spans]


def test_references_correct_the_output_from_the_sources(generated):
    """A reference is the output corrected: a figure replaced by the retrieved document's, a
    term by the glossary's, or a phrase rewritten; never a word dropped in at random or the
    same words shuffled."""
    with_ref = [d for d in generated if d.get("reference")]
    assert len(with_ref) >= 200
    for d in with_ref:
        out, ref = d["output"], d["reference"]
        assert sorted(_WORD.findall(out.lower())) != sorted(_WORD.findall(ref.lower())), d["id"]
        sources = " ".join(doc["text"] for doc in d.get("context", {}).get("documents", [])).lower()
        for old, new in _spans(out, ref):
            old_n, new_n = _NUMBER.findall(" ".join(old)), _NUMBER.findall(" ".join(new))
            if old_n or new_n:
                assert old_n and new_n, (d["id"], old, new)  # a figure replaces a figure
                assert all(n in sources for n in new_n), (d["id"], new, sources)
            else:  # a rewritten phrase, or the glossary's term
                words = _WORD.findall(" ".join(new).lower())
                assert max(len(old), len(new)) >= 2 or all(w in sources for w in words), (d["id"], old, new)


def test_similar_finds_near_duplicates_among_the_outputs(tmp_path):
    path = tmp_path / "demo.db"
    demo.build_demo(path, 600)
    q = SqlQueue.open(f"sqlite:///{path}")
    try:
        ids = [s.id for s in q.list_items(limit=600) if s.kind == "output" and s.id.startswith("gen-")][:200]
        found = {i: q.similar(i) for i in ids}
    finally:
        q.close()
    clustered = [i for i, near in found.items() if near]
    assert len(clustered) >= 30, len(clustered)


def test_progress_is_reported_to_the_end_of_the_last_phase(tmp_path):
    calls: list[tuple[int, str]] = []
    demo.build_demo(tmp_path / "demo.db", 2300, batch=1000,
                    progress=lambda steps, phase: calls.append((steps, phase)))
    assert sum(s for s, _ in calls) == demo.demo_steps(2300)
    assert calls[:-1] == [(1000, demo.INSERT), (1000, demo.INSERT), (300, demo.FINISH)]  # a step an item
    assert calls[-1] == (demo.demo_steps(2300) - 2300, demo.DONE)  # then the statistics and checkpoint


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "q.db"))
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_demo_says_where_the_file_is_its_size_and_how_to_remove_it(run, tmp_path):
    path = tmp_path / "my demo.db"
    r = run("demo", "--items", "60", "--path", str(path), "--no-open")
    assert r.exit_code == 0, r.output
    line = r.output.strip().splitlines()[-1]
    assert str(path) in line and "60 items" in line and re.search(r"\d+ (KB|MB)", line), line
    clean = re.search(r"`(reviewer demo --clean[^`]*)`", line)
    assert clean, line
    assert f"rm {shlex.quote(str(path))}" in line
    r = run(*shlex.split(clean.group(1))[1:])
    assert r.exit_code == 0 and f"removed {path}" in r.output, r.output
    assert not path.exists() and not Path(f"{path}-wal").exists()
    assert "no demo queue at" in run("demo", "--clean", "--path", str(path)).output


def test_demo_never_removes_or_replaces_a_real_queue(run, tmp_path):
    real = tmp_path / "queue.db"
    q = SqlQueue.open(f"sqlite:///{real}")
    q.enqueue(parse_item(output(1).model_dump(mode="json")))
    q.close()
    for args in (["--clean"], ["--items", "20", "--no-open"]):
        r = run("demo", "--path", str(real), *args)
        assert r.exit_code != 0 and "not a demo queue" in r.output, r.output
    q = SqlQueue.open(f"sqlite:///{real}")
    try:
        assert q.count() == 1
    finally:
        q.close()
