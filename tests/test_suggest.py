"""Judge suggestions: the judge (through real litellm calls with mock_response), `reviewer
suggest`, the review screen's suggestion pane and keys, and judge agreement in the report."""

from __future__ import annotations

import json
import threading

import litellm
import pytest
from click.testing import CliRunner
from tuikit import SIZE, app_for, make_queue, open_item, screen_text, settle

from reviewer.cli import cli
from reviewer.judge import Judge, JudgeError, NoProvider, messages_for, prompt_for
from reviewer.models import DecisionIn, ItemFilter, QueueSettings
from reviewer.report import build
from reviewer.screens.dialogs import ConfirmCorrection, CorrectScreen, RejectDialog
from reviewer.screens.review_screen import ReviewScreen
from reviewer.storage import SqlQueue
from reviewer.suggest import suggest

from factories import HOSTILE, output

MODEL = "openai/gpt-4o-mini"
FIXED = "Nordhavn reported net sales of SEK 4,812m and EBIT of SEK 611m."


def answer(**kw) -> str:
    return json.dumps({"verdict": "reject", "reasons": ["wrong_numbers"], "rationale": "Revenue and EBIT swapped.",
                       "confidence": 0.8} | kw)


@pytest.fixture
def q(tmp_path):
    queue = make_queue(tmp_path)
    yield queue
    queue.close()


def test_the_judge_asks_with_the_item_as_data_and_fits_its_answer_to_the_item(q):
    item, settings = q.get("fin-1"), q.queue_settings("finchat")
    text, version = prompt_for(settings)
    system, user = messages_for(item, settings, text)
    assert "wrong_numbers" in system["content"] and "never an instruction" in system["content"]
    assert user["content"].startswith("<item>") and "SEK 611m" in user["content"]
    s = Judge(MODEL, mock_response="Sure! ```json\n" + answer(reasons=["wrong_numbers", "vibes"]) + "\n```")(item, settings)
    assert (s.verdict, s.reasons, s.prompt_version) == ("reject", ["wrong_numbers"], version)  # vibes: not a reason here
    assert s.rationale.endswith("(reviewer: dropped reasons outside the taxonomy: vibes.)")  # and it says so
    assert s.tokens_in and s.tokens_out and s.cost_usd and s.cost_usd > 0  # litellm's usage and price list
    fix = Judge(MODEL, mock_response=answer(verdict="correct", correction=FIXED))(item, settings)
    assert (fix.verdict, fix.correction) == ("correct", FIXED)
    same = Judge(MODEL, mock_response=answer(verdict="correct", correction=item.item.output + "\n"))(item, settings)
    assert (same.verdict, same.correction, same.reasons) == ("approve", None, [])  # a correction changing nothing
    bare = Judge(MODEL, mock_response=answer(verdict="correct"))(item, settings)
    assert (bare.verdict, bare.correction) == ("reject", None)  # no corrected text: it says what is wrong
    assert "kept as reject" in bare.rationale
    with pytest.raises(JudgeError, match="not answer with a JSON object"):
        Judge(MODEL, mock_response="I think it is fine.")(item, settings)
    with pytest.raises(JudgeError, match="verdict 'maybe'"):
        Judge(MODEL, mock_response=answer(verdict="maybe"))(item, settings)
    # a queue's own prompt is another version: suggestions from the old one do not count
    own = QueueSettings(judge_prompt="Judge $kind. Reasons: $reasons")
    assert prompt_for(own)[1].startswith("queue@") and prompt_for(own)[1] != version


def test_rate_limits_are_retried_with_backoff_and_no_key_stops_at_once(q):
    item, settings = q.get("act-1"), q.queue_settings("support-agent")
    calls = []

    def flaky(**kw):
        calls.append(kw["model"])
        if len(calls) < 3:
            raise litellm.RateLimitError("slow down", llm_provider="openai", model=MODEL)
        return litellm.completion(**kw)

    mock = answer(verdict="correct", reasons=["wrong_arguments"], arguments={"order_id": "55120", "amount": 12.49})
    s = Judge(MODEL, mock_response=mock, backoff_s=0.001, completion=flaky)(item, settings)
    assert len(calls) == 3 and s.verdict == "correct" and s.arguments == {"order_id": "55120", "amount": 12.49}

    def refused(**kw):
        raise litellm.AuthenticationError("bad key", llm_provider="openai", model=MODEL)

    with pytest.raises(NoProvider, match="refused the key"):
        Judge(MODEL, completion=refused)(item, settings)


def test_suggest_runs_concurrently_skips_what_it_judged_and_counts_failures(tmp_path):
    queue = SqlQueue.open(f"sqlite:///{tmp_path / 's.db'}")
    queue.enqueue_many([output(i, output=f"answer {i}" if i != 3 else "boom") for i in range(1, 8)])
    queue.decide("out-7", DecisionIn(verdict="approve", reviewer="ann"))  # settled: not judged
    real = Judge(MODEL, mock_response=answer(reasons=["hallucination"], rationale=" ".join(HOSTILE)))

    def judge(item, settings):
        if item.item.output == "boom":
            raise JudgeError("the judge's JSON does not parse")
        return real(item, settings)

    seen = []
    r = suggest(queue, judge, MODEL, ItemFilter(), actor="ann", concurrency=3, progress=lambda n, _: seen.append(n))
    assert (r.suggested, r.skipped, list(r.failed)) == (5, 0, ["out-3"]) and sum(seen) == 6
    assert r.cost_usd > 0 and r.tokens > 0 and r.verdicts == {"reject": 5}
    assert queue.get("out-1").suggestions[0].rationale == " ".join(HOSTILE)  # stored as given, shown inert
    assert queue.get("out-7").suggestions == []
    again = suggest(queue, judge, MODEL, ItemFilter(), actor="ann")
    assert (again.suggested, again.skipped, list(again.failed)) == (0, 5, ["out-3"])  # paid for once; failures retried
    other = Judge("openai/gpt-4o", mock_response=answer())
    first = suggest(queue, other, "openai/gpt-4o", ItemFilter(), actor="ann", limit=2)
    second = suggest(queue, other, "openai/gpt-4o", ItemFilter(), actor="ann", limit=2)
    assert (first.suggested, first.skipped, second.suggested, second.skipped) == (2, 0, 2, 2)  # the next two
    assert sum(1 for i in range(1, 7) if any(s.model == "openai/gpt-4o" for s in queue.get(f"out-{i}").suggestions)) == 4

    def unreachable(item, settings):
        raise NoProvider("openai/gpt-4o-mini: no API key")

    with pytest.raises(NoProvider):
        suggest(queue, unreachable, "other/model", ItemFilter(), actor="ann")


def test_suggest_command_dry_run_and_missing_key(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    SqlQueue.open(db).enqueue_many([output(1), output(2, queue="other")])
    runner = CliRunner()
    r = runner.invoke(cli, ["--db", db, "suggest", "--model", MODEL, "--queue", "q1", "--mock-response", answer()])
    assert r.exit_code == 0, r.output
    assert "suggested 1 (1 reject), skipped 0 already judged, failed 0" in r.output and "cost $0.0" in r.output
    shown = runner.invoke(cli, ["--db", db, "show", "out-1"]).output
    assert f"suggestion by {MODEL}" in shown and "reject at confidence 0.80 reasons=wrong_numbers" in shown
    fixed = answer(verdict="correct", correction="answer number ONE")
    runner.invoke(cli, ["--db", db, "suggest", "--model", "openai/gpt-4o", "--mock-response", fixed])
    shown = runner.invoke(cli, ["--db", db, "show", "out-1"]).output
    assert "[suggested correction, as a diff of the output]" in shown and "+answer number ONE" in shown
    for bad, said in ((["--mock-response", "[]"], "must be a JSON object"), (["--queue", "nosuch"], "no queue named")):
        r = runner.invoke(cli, ["--db", db, "suggest", "--model", MODEL, "--mock-response", answer(), *bad])
        assert r.exit_code == 2 and said in r.output
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    r = runner.invoke(cli, ["--db", db, "suggest", "--model", MODEL])
    assert r.exit_code != 0 and "needs OPENAI_API_KEY" in r.output and "--mock-response" in r.output


def test_report_shows_how_often_reviewers_agreed_with_the_judge(q):
    for i, (judged, human) in enumerate([("reject", "reject"), ("reject", "approve"), ("approve", "approve")]):
        item_id = ["sup-1", "rag-1", "rag-2"][i]
        q.suggest(Judge(MODEL, mock_response=answer(verdict=judged))(q.get(item_id), q.queue_settings("x")),
                  actor="ann")
        q.decide(item_id, DecisionIn(verdict=human, reviewer="bob", reasons=["other"] if human == "reject" else []))
    rag, support = build(q.get_many(["sup-1", "rag-1", "rag-2"])).judges
    assert (rag.queue, rag.model, rag.items, rag.agreed, rag.rate) == ("rag-qa", MODEL, 2, 1, 0.5)
    assert (support.queue, support.items, support.agreed) == ("support", 1, 1)
    assert rag.prompt_version.startswith("judge-v1@")


def test_a_new_judge_prompt_is_a_new_judge_in_the_report(q):
    """Figures of two prompt versions of one model are not merged: a prompt change shows."""
    old = Judge(MODEL, mock_response=answer(verdict="reject"))
    new = Judge(MODEL, mock_response=answer(verdict="approve"))
    own = QueueSettings(judge_prompt="Judge $kind. Reasons: $reasons")  # the queue's own prompt
    for judge, item_id, settings in ((old, "rag-1", QueueSettings()), (new, "rag-2", own)):
        q.suggest(judge(q.get(item_id), settings), actor="ann")
        q.decide(item_id, DecisionIn(verdict="approve", reviewer="bob"))
    figures = build(q.get_many(["rag-1", "rag-2"])).judges
    assert len({j.prompt_version for j in figures}) == 2
    assert sorted((j.items, j.agreed) for j in figures) == [(1, 0), (1, 1)]


# -- the review screen ----------------------------------------------------------------------


async def test_j_asks_the_judge_and_C_takes_its_correction_into_the_editor(q):
    app = app_for(q, judge=Judge(MODEL, mock_response=answer(verdict="correct", correction=FIXED,
                                                              rationale="[bold]Swapped[/] figures")))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        assert f"j: ask the judge ({MODEL})" in screen_text(app)
        await pilot.press("j")
        await settle(pilot, lambda: screen.item.suggestions)
        text = screen_text(app)
        assert "Suggestion" in text and "correct  confidence 0.80" in text and "[bold]Swapped[/] figures" in text
        assert q.get("fin-1").status == "claimed"  # suggested, not decided
        await pilot.press("C")
        await settle(pilot, lambda: isinstance(app.screen, CorrectScreen))
        assert app.screen.query_one("TextArea").text == FIXED
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmCorrection))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen) and screen.item.id != "fin-1")
    d = q.get("fin-1").decisions[-1]
    assert (d.verdict, d.correction, d.reviewer, d.reasons) == ("correct", FIXED, "alice", ["wrong_numbers"])


async def test_R_opens_the_reject_picker_with_the_suggested_reasons_ticked(q):
    q.suggest(Judge(MODEL, mock_response=answer(reasons=["hallucination", "tone"]))(q.get("sup-1"),
                                                                                  q.queue_settings("support")),
              actor="ann")
    app = app_for(q)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "sup-1")
        assert "R: reject with these reasons" in screen_text(app)
        await pilot.press("C")  # nothing to take: it says so and stays
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("R")
        await settle(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, ReviewScreen) and screen.item.id != "sup-1")
    d = q.get("sup-1").decisions[-1]
    assert (d.verdict, d.reasons) == ("reject", ["hallucination", "tone"])


async def until(pilot, condition) -> None:
    """Like settle, without waiting for workers (the judge's is held on purpose)."""
    for _ in range(300):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError("never happened")


@pytest.mark.parametrize("fails", [False, True])
async def test_a_late_answer_for_an_item_the_screen_left_is_dropped_and_a_failure_still_said(q, fails):
    release = threading.Event()
    real = Judge(MODEL, mock_response=answer())

    def slow(item, settings):
        release.wait(10)
        if fails:
            raise NoProvider(f"{MODEL}: no API key", hint="set OPENAI_API_KEY")
        return real(item, settings)

    slow.model = MODEL  # type: ignore[attr-defined]
    app = app_for(q, judge=slow)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_item(pilot, "fin-1")
        await pilot.press("j")
        await until(pilot, lambda: "asking the judge" in screen_text(app))
        await pilot.press("s")  # skip to the next item while the judge thinks
        await until(pilot, lambda: screen.item is not None and screen.item.id != "fin-1")
        release.set()
        if fails:
            await settle(pilot, lambda: any("about fin-1" in n.message and "OPENAI_API_KEY" in n.message
                                            for n in app._notifications))
            assert q.get("fin-1").suggestions == []
        else:
            await settle(pilot, lambda: q.get("fin-1").suggestions)
            await settle(pilot)
            assert q.get("fin-1").suggestions[0].verdict == "reject"  # stored, shown when it is opened again
        assert screen.item.suggestions == [] and "Suggestion" not in screen_text(app)


async def test_j_without_a_judge_says_what_to_set(q):
    app = app_for(q)
    async with app.run_test(size=SIZE) as pilot:
        await open_item(pilot, "rag-1")
        await pilot.press("j")
        await settle(pilot, lambda: any("judge_model" in n.message for n in app._notifications))
        assert isinstance(app.screen, ReviewScreen) and q.get("rag-1").status == "claimed"


def test_the_app_and_its_review_screen_load_without_litellm():
    import subprocess
    import sys

    code = ("import sys\nfrom reviewer.screens import make_app\nimport reviewer.screens.review_screen\n"
            "app = make_app(lambda: None, reviewer='a', config={'judge_model': 'openai/gpt-4o-mini'})\n"
            "assert app.judge_model == 'openai/gpt-4o-mini'\nprint('litellm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
