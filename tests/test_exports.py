"""Every export format, written through the CLI on the shared sample data, then loaded by its
real consumer (Hugging Face datasets, Inspect AI) or checked against the documented rules of
the format (OpenAI fine-tuning)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.formats import BARE
from reviewer.vocab import EXPORT_FORMATS

from conftest import SHARED_DATA


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_DB", str(tmp_path / "q.db"))
    monkeypatch.setenv("REVIEWER_NAME", "tester")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        r = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return r

    return invoke


@pytest.fixture
def decided(run, tmp_path):
    """The shared samples, with every kind of decision on outputs and on actions."""
    for f in sorted(SHARED_DATA.glob("*.jsonl")):
        run("ingest", str(f))
    fix = tmp_path / "fix.txt"
    fix.write_text("Nordhavn Logistics reported Q3 2026 net sales of SEK 4,812m and EBIT of SEK 611m.\n")
    run("decide", "fin-0001", "--correct-file", str(fix), "--comment", "figures swapped")
    run("decide", "fin-0002", "--approve")
    run("decide", "fin-0003", "--reject", "--reason", "tone")
    run("decide", "sup-0001", "--approve")
    run("decide", "act-0001", "--approve")
    run("decide", "act-0003", "--reject", "--reason", "unsafe", "--comment", "not on prod")
    run("decide", "act-0004", "--arguments", '{"path": "config/limits.yaml", "content": "x: 1\\n"}')
    run("flag", "--output", "We ship to Mars.", "--reason", "user.thumbs_down", "--input", "Where do you ship?")
    flagged = [json.loads(x) for x in run("list", "--json").output.splitlines()]
    new = next(r["id"] for r in flagged if r["queue"] == "default")
    run("decide", new, "--approve")
    return run, new


def export(run, tmp_path: Path, fmt: str, *extra: str) -> tuple[list, dict, str]:
    out = tmp_path / f"{fmt}.{'csv' if fmt == 'csv' else 'jsonl'}"
    r = run("export", "--format", fmt, "-o", str(out), *extra)
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    if fmt == "csv":
        with out.open(newline="") as f:
            return list(csv.DictReader(f)), manifest, r.output
    return [json.loads(x) for x in out.read_text().splitlines()], manifest, r.output


def with_ids(tmp_path: Path, fmt: str, rows: list) -> dict:
    """A BARE format's records by item id, from its side file (checked against the file)."""
    import hashlib

    out = tmp_path / f"{fmt}.jsonl"
    head, *ids = (tmp_path / f"{fmt}.jsonl.ids").read_text().splitlines()
    assert head == f"sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}" and len(ids) == len(rows)
    return dict(zip(ids, rows, strict=True))


def test_golden_has_ids_and_says_what_it_left_out(decided, tmp_path):
    run, flagged_id = decided
    rows, manifest, said = export(run, tmp_path, "golden")
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"fin-0001", "fin-0002", "sup-0001", flagged_id}
    assert by_id["fin-0001"]["expected_output"].endswith("SEK 611m.")  # the editor's newline is gone
    assert manifest["new_kinds"] == {"output": 4}
    assert manifest["left_out"] == {
        "an action: this format holds outputs (actions go to tool-calls, feedback or csv)": 3,
        "a reject without a correction: no answer to learn from (add --include-rejected for golden)": 1}
    assert "left out 3 items (act-0001, act-0003, act-0004): an action" in said
    assert "left out 1 item (fin-0003): a reject" in said


def test_feedback_holds_every_decision_with_a_langfuse_shaped_score(decided, tmp_path):
    run, _ = decided
    rows, manifest, _ = export(run, tmp_path, "feedback")
    assert len(rows) == 8 and manifest["left_out"] == {}
    fin = next(r for r in rows if r["id"] == "fin-0001")
    assert (fin["trace_id"], fin["observation_id"]) == ("tr_8f2c01", "sp_01")
    assert (fin["name"], fin["value"], fin["data_type"], fin["source"]) == (
        "human_review", "correct", "CATEGORICAL", "ANNOTATION")
    assert fin["comment"] == "figures swapped" and fin["reviewer"] == "tester"
    assert {"reason": "judge.numeric_faithfulness", "score": 0.22} in fin["flags"]
    act = next(r for r in rows if r["id"] == "act-0003")
    assert (act["kind"], act["value"], act["reasons"]) == ("action", "reject", ["unsafe"])
    assert fin["judges"] == [] and act["judges"] == []


def test_feedback_says_what_each_judge_suggested_and_whether_the_human_agreed(run, tmp_path):
    """A judge's suggestions go out beside the human's decision, to calibrate the judge."""
    from reviewer.models import Suggestion
    from reviewer.storage import SqlQueue

    for f in sorted(SHARED_DATA.glob("*.jsonl")):
        run("ingest", str(f))
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        for model, verdict in (("openai/gpt-4o-mini", "reject"), ("anthropic/claude-haiku", "approve")):
            q.suggest(Suggestion(item_id="sup-0001", model=model, prompt_version="judge-v1@t", verdict=verdict,
                                 reasons=["tone"] if verdict == "reject" else [], confidence=0.7), actor="tester")
    finally:
        q.close()
    run("decide", "sup-0001", "--approve")
    rows, _, _ = export(run, tmp_path, "feedback")
    (sup,) = [r for r in rows if r["id"] == "sup-0001"]
    assert sup["judges"] == [
        {"model": "openai/gpt-4o-mini", "prompt_version": "judge-v1@t", "verdict": "reject", "reasons": ["tone"],
         "confidence": 0.7, "agrees": False},
        {"model": "anthropic/claude-haiku", "prompt_version": "judge-v1@t", "verdict": "approve", "reasons": [],
         "confidence": 0.7, "agrees": True}]


def check_openai_chat(record: dict) -> None:
    """OpenAI's documented chat fine-tuning rules: a `messages` list of system, user,
    assistant and tool messages, with at least one user message and the assistant's turn
    last; content is text; an assistant tool call is {id, type: function, function: {name,
    arguments as a JSON string}}."""
    assert set(record) == {"messages"}  # OpenAI refuses a line with a key it does not know
    msgs = record["messages"]
    assert isinstance(msgs, list) and msgs
    assert any(m["role"] == "user" for m in msgs)
    assert msgs[-1]["role"] == "assistant"
    for m in msgs:
        assert m["role"] in ("system", "user", "assistant", "tool")
        assert set(m) <= {"role", "content", "name", "tool_calls", "tool_call_id", "weight"}
        if "content" in m:
            assert isinstance(m["content"], str) and m["content"]
        for call in m.get("tool_calls") or []:
            assert call["type"] == "function" and call["id"]
            assert isinstance(call["function"]["name"], str)
            assert isinstance(json.loads(call["function"]["arguments"]), dict)
    last = msgs[-1]
    assert "content" in last or last.get("tool_calls")


def test_openai_chat_follows_the_fine_tuning_format_for_outputs_and_actions(decided, tmp_path):
    run, _ = decided
    rows, manifest, _ = export(run, tmp_path, "openai-chat")
    for r in rows:
        check_openai_chat(r)
    by_id = with_ids(tmp_path, "openai-chat", rows)
    assert by_id["fin-0001"]["messages"][-1]["content"].startswith("Nordhavn Logistics reported Q3 2026 net")
    call = by_id["act-0004"]["messages"][-1]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"path": "config/limits.yaml", "content": "x: 1\n"}
    assert "act-0003" not in by_id and manifest["left_out"]  # a reject is not a training answer


def test_preference_formats_pair_the_correction_with_the_original(decided, tmp_path):
    run, _ = decided
    dpo, _, _ = export(run, tmp_path, "openai-dpo")
    assert list(with_ids(tmp_path, "openai-dpo", dpo)) == ["fin-0001"]
    r = dpo[0]
    assert set(r) == {"input", "preferred_output", "non_preferred_output"}
    assert r["input"]["messages"][-1] == {"role": "user", "content": "Summarize Q3 2026 for Nordhavn Logistics AB."}
    assert r["preferred_output"][0]["content"].startswith("Nordhavn Logistics reported Q3 2026 net sales")
    assert "revenue of SEK 611m" in r["non_preferred_output"][0]["content"]
    trl, _, _ = export(run, tmp_path, "trl-dpo")
    assert trl[0]["chosen"] == r["preferred_output"] and trl[0]["rejected"] == r["non_preferred_output"]
    kto, _, _ = export(run, tmp_path, "trl-kto")
    labels = sorted((x["id"], x["label"]) for x in kto)
    assert ("fin-0001", False) in labels and ("fin-0001", True) in labels  # original bad, correction good
    assert ("fin-0003", False) in labels and ("fin-0002", True) in labels


def test_tool_calls_and_csv_hold_the_actions_with_the_agents_feedback(decided, tmp_path):
    run, _ = decided
    rows, _, _ = export(run, tmp_path, "tool-calls")
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"act-0001", "act-0003", "act-0004"}
    rejected = by_id["act-0003"]
    assert rejected["approved_arguments"] is None and "rejected the call shell" in rejected["feedback"]
    assert by_id["act-0004"]["approved_arguments"]["content"] == "x: 1\n"
    flat, _, _ = export(run, tmp_path, "csv", "--kind", "action")
    assert {r["id"]: r["verdict"] for r in flat} == {"act-0001": "approve", "act-0003": "reject", "act-0004": "correct"}
    assert flat[0].keys() >= {"original", "decided", "reasons", "trace_id"}


def test_csv_follows_re_decisions_and_undos_incrementally(decided, tmp_path):
    run, _ = decided
    out = tmp_path / "d.csv"
    run("export", "--format", "csv", "-o", str(out), "--cursor", "sheet")
    run("undo", "fin-0002")
    run("undo", "sup-0001")
    run("decide", "sup-0001", "--reject", "--reason", "hallucination")
    run("export", "--format", "csv", "-o", str(out), "--cursor", "sheet")
    with out.open(newline="") as f:
        rows = {r["id"]: r["verdict"] for r in csv.DictReader(f)}
    assert "fin-0002" not in rows and rows["sup-0001"] == "reject" and rows["fin-0001"] == "correct"


def test_an_incremental_openai_export_keeps_its_ids_beside_the_file(decided, tmp_path):
    run, _ = decided
    out = tmp_path / "openai-chat.jsonl"
    run("export", "--format", "openai-chat", "-o", str(out), "--cursor", "ft")
    run("undo", "fin-0002")
    run("decide", "rag-0001", "--approve")
    run("export", "--format", "openai-chat", "-o", str(out), "--cursor", "ft")
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    by_id = with_ids(tmp_path, "openai-chat", rows)
    assert "fin-0002" not in by_id and "rag-0001" in by_id and "fin-0001" in by_id
    out.write_text(out.read_text() + "\n")  # edited by hand: the index no longer matches
    run("decide", "rag-0002", "--approve")
    r = CliRunner().invoke(cli, ["export", "--format", "openai-chat", "-o", str(out), "--cursor", "ft"])
    assert r.exit_code != 0 and "is not the id index of openai-chat.jsonl" in r.output


def test_a_split_is_a_function_of_the_item_id_and_never_moves_an_item(decided, tmp_path):
    run, _ = decided
    out = tmp_path / "g.jsonl"

    def splits() -> dict[str, set[str]]:
        return {name: {json.loads(x)["id"] for x in (tmp_path / f"g.{name}.jsonl").read_text().splitlines()}
                for name in ("test", "train")}

    run("export", "--format", "feedback", "-o", str(out), "--split", "test=0.5", "--cursor", "s")
    before = splits()
    assert before["test"] and before["train"] and not before["test"] & before["train"]
    manifest = json.loads((tmp_path / "g.jsonl.manifest.json").read_text())
    assert manifest["split"]["files"]["test"]["records"] == len(before["test"])
    for i in ("rag-0001", "rag-0002", "rag-0003", "code-0001", "tr-0001"):
        run("decide", i, "--approve")
    run("export", "--format", "feedback", "-o", str(out), "--split", "test=0.5", "--cursor", "s")
    after = splits()
    assert before["test"] <= after["test"] and before["train"] <= after["train"]  # nobody moved
    assert len(after["test"] | after["train"]) == len(before["test"] | before["train"]) + 5
    r = CliRunner().invoke(cli, ["export", "-o", str(out), "--split", "test=1.5"])
    assert r.exit_code != 0 and "NAME=FRACTION" in r.output


def test_filters_apply_to_every_format(decided, tmp_path):
    run, _ = decided
    rows, manifest, _ = export(run, tmp_path, "feedback", "--queue", "finchat-summaries", "--verdict", "approve",
                               "--verdict", "correct", "--reviewer", "tester", "--tag", "earnings")
    assert sorted(r["id"] for r in rows) == ["fin-0001", "fin-0002"]
    assert manifest["filters"]["tags"] == ["earnings"]
    rows, _, _ = export(run, tmp_path, "feedback", "--until", "2000-01-01")
    assert rows == []


def test_every_jsonl_format_loads_with_hugging_face_datasets(decided, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    run, _ = decided
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    for fmt in EXPORT_FORMATS:
        if fmt == "csv":
            continue
        rows, _, _ = export(run, tmp_path, fmt)
        ds = datasets.load_dataset("json", data_files=str(tmp_path / f"{fmt}.jsonl"), split="train",
                                   cache_dir=str(tmp_path / "hf"))
        assert len(ds) == len(rows), fmt
        assert ("id" in ds.column_names) == (fmt not in BARE), fmt


def test_inspect_loads_the_samples_with_no_field_mapping_and_an_eval_runs(decided, tmp_path):
    pytest.importorskip("inspect_ai")
    from inspect_ai import Task, eval
    from inspect_ai.dataset import json_dataset
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import includes
    from inspect_ai.solver import generate

    run, _ = decided
    rows, _, _ = export(run, tmp_path, "inspect")
    samples = json_dataset(str(tmp_path / "inspect.jsonl"))
    assert sorted(s.id for s in samples) == sorted(r["id"] for r in rows)
    fin = next(s for s in samples if s.id == "fin-0001")
    assert fin.target.startswith("Nordhavn Logistics reported Q3 2026 net sales")
    assert fin.input[-1].role == "user" and fin.metadata["verdict"] == "correct"
    def answer() -> ModelOutput:
        out = ModelOutput.from_content(model="mockllm/model", content="SEK 611m")
        out.usage = ModelUsage(input_tokens=10, output_tokens=3, total_tokens=13)  # no tokenizer download
        return out

    model = get_model("mockllm/model", custom_outputs=[answer() for _ in rows])
    log = eval(Task(dataset=samples, solver=generate(), scorer=includes()), model=model,
               log_dir=str(tmp_path / "logs"), display="none")[0]
    assert log.status == "success", log.error.traceback if log.error else None
    assert len(log.samples) == len(rows)


def test_the_readmes_export_commands_run_as_written(decided, tmp_path, monkeypatch):
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### From decisions to datasets", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line.split("#", 1)[0]) for line in section.splitlines() if line.strip()]
    assert sorted(c[c.index("--format") + 1] for c in commands) == sorted(EXPORT_FORMATS)
    run, _ = decided
    monkeypatch.chdir(tmp_path)
    for argv in commands:
        assert argv[0] == "reviewer"
        run(*argv[1:])
        out = tmp_path / argv[argv.index("-o") + 1]
        assert out.stat().st_size > 0 and re.search(r"\S", out.read_text())


def test_redact_replaces_pii_with_typed_placeholders_and_counts_them(decided, tmp_path):
    pytest.importorskip("presidio_analyzer")
    run, _ = decided
    run("decide", "sup-0002", "--approve")
    rows, manifest, said = export(run, tmp_path, "golden", "--redact")
    text = json.dumps(rows)
    for secret in ("dana.whitfield@example.org", "415 555 0137", "4155550137"):
        assert secret not in text
    sup = next(r for r in rows if r["id"] == "sup-0002")
    assert "<EMAIL>" in sup["expected_output"] and "<PHONE>" in sup["expected_output"]
    assert "<EMAIL>" in sup["context"]["documents"][0]["text"]
    assert sup["metadata"]["source"]["trace_id"] == "tr_sup_1204"  # names are not content
    fin = next(r for r in rows if r["id"] == "fin-0001")
    assert "SEK 4,812m" in fin["expected_output"]  # figures are not phone numbers
    assert manifest["redaction"]["<EMAIL>"] >= 2 and manifest["redaction"]["<PHONE>"] >= 2
    assert "redacted: " in said
    from collections import Counter

    from reviewer.redact import redact_text

    counts: Counter[str] = Counter()
    for internal in ("buyer13@customer.example", "ops@corp.internal", "x@host.local"):
        assert redact_text(f"mail {internal} now", counts) == "mail <EMAIL> now"


def test_dedup_keeps_the_latest_of_near_duplicate_inputs_and_lists_the_rest(run, tmp_path):
    ids = []
    for question, answer in (("Can I return my headphones?", "Yes, within 30 days."),
                             ("can I return my headphones", "Yes, within 30 days of delivery."),
                             ("What are your opening hours?", "9 to 5.")):
        run("flag", "--output", answer, "--reason", "user.thumbs_down", "--input", question)
        ids.append(json.loads(run("list", "--json").output.splitlines()[-1])["id"])
    for item_id in ids:  # decided in this order: the second headphones question is the latest
        run("decide", item_id, "--approve")
    rows, manifest, said = export(run, tmp_path, "golden", "--dedup", "90")
    assert sorted(r["id"] for r in rows) == sorted([ids[1], ids[2]])
    assert manifest["dedup"]["dropped"] == {ids[0]: f"near-duplicate input of {ids[1]} (100)"}
    assert "dropped 1 near-duplicate" in said
    rows, _, _ = export(run, tmp_path, "golden")
    assert len(rows) == 3  # without --dedup nothing is collapsed


def test_feedback_scores_validate_against_the_langfuse_sdks_request_model(decided, tmp_path):
    api = pytest.importorskip("langfuse.api")
    run, _ = decided
    rows, _, _ = export(run, tmp_path, "feedback")
    fields = set(api.CreateScoreRequest.model_fields)
    for r in rows:
        score = api.CreateScoreRequest.model_validate({k: v for k, v in r.items() if k in fields})
        assert score.name == "human_review" and score.value == r["verdict"]
        assert str(score.data_type.value if hasattr(score.data_type, "value") else score.data_type) == "CATEGORICAL"
        assert str(score.source.value if hasattr(score.source, "value") else score.source) == "ANNOTATION"
    assert {"trace_id", "observation_id", "session_id", "comment"} <= fields


def test_an_export_reports_its_progress_item_by_item_to_the_end(decided, tmp_path):
    """`reviewer export` draws a progress bar from these reports (hidden when not a terminal)."""
    from reviewer.export import export
    from reviewer.storage import SqlQueue

    seen: list[tuple[int, int]] = []
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        result = export(q, "feedback", tmp_path / "f.jsonl", progress=lambda done, total: seen.append((done, total)))
    finally:
        q.close()
    total = seen[0][1]
    assert seen[0] == (0, total) and seen[-1] == (total, total) and total >= result.written > 0
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
