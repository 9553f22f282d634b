"""The audit chain: an edited, deleted or inserted decision or audit row is named by
`reviewer audit verify` and by the gateway's readiness; an anchor catches a rewritten chain."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.models import DecisionIn
from reviewer.storage import SqlQueue
from reviewer.storage import chain as ch

from factories import action, output
from gateway import serve


def _busy_queue(url: str) -> SqlQueue:
    """A queue with a few decisions, an undo and their audit rows."""
    q = SqlQueue.open(url)
    q.enqueue_many([output(i) for i in range(6)])
    for i in range(4):
        q.decide(f"out-{i}", DecisionIn(verdict="approve" if i % 2 else "reject", reviewer="alice"))
    q.undo("out-1", "alice")
    return q


def _sql(q: SqlQueue, statement: str, **params: object) -> None:
    """What someone with the database file does: SQL straight to it, past reviewer."""
    with q.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def _verify(url: str, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["--db", url, "audit", "verify", *args])
    return r.exit_code, r.output


def test_an_intact_chain_verifies_and_prints_its_head(db_url: str) -> None:
    q = _busy_queue(db_url)
    report = q.verify_chain()
    assert report.ok and report.counts == {"decisions": 5, "audit": 11}
    code, out = _verify(db_url)
    assert code == 0 and f"head {report.head}" in out
    code, out = _verify(db_url, "--json")
    assert code == 0 and json.loads(out.splitlines()[0])["head"] == report.head
    q.close()


def test_an_edited_decision_is_named(db_url: str) -> None:
    q = _busy_queue(db_url)
    _sql(q, "UPDATE decisions SET verdict = 'approve' WHERE id = :id", id=q.get("out-2").decisions[0].id)
    seq = q.get("out-2").decisions[0].seq
    code, out = _verify(db_url)
    assert code != 0
    assert f"decisions row {seq}: edited" in out
    code, out = _verify(db_url, "--json")
    broken = json.loads(out.splitlines()[0])["broken"]
    assert code != 0 and broken == {"table": "decisions", "seq": seq, "problem": "edited",
                                    "detail": "its content no longer matches its link"}
    q.close()


def test_a_deleted_audit_row_is_named(db_url: str) -> None:
    q = _busy_queue(db_url)
    victim = [e for e in q.audit() if e.action == "decide"][1]
    _sql(q, "DELETE FROM audit WHERE seq = :s", s=victim.seq)
    report = q.verify_chain()
    assert not report.ok and report.broken is not None
    assert report.broken.problem == "deleted" and "1 row before it is missing" in report.broken.detail
    q.close()


def test_a_deleted_last_row_is_named(db_url: str) -> None:
    q = _busy_queue(db_url)
    last = q.audit()[-1]
    _sql(q, "DELETE FROM audit WHERE seq = :s", s=last.seq)
    report = q.verify_chain()
    assert report.broken is not None and report.broken.problem == "deleted"
    assert "after it is missing" in report.broken.detail
    q.close()


def test_an_inserted_decision_is_named(db_url: str) -> None:
    q = _busy_queue(db_url)
    _sql(q, "INSERT INTO decisions (id, item_id, verdict, reviewer, reasons, scores, decided_at, content_hash, "
            "by_kind) VALUES ('forged', 'out-5', 'approve', 'alice', '[]', '{}', '2026-01-01 00:00:00', 'x', 'human')")
    report = q.verify_chain()
    assert report.broken is not None and (report.broken.table, report.broken.problem) == ("decisions", "inserted")
    q.close()


def test_a_row_rewritten_with_its_own_link_is_named(db_url: str) -> None:
    """Editing a row and recomputing its link breaks the next link: the edited row is named."""
    q = _busy_queue(db_url)
    d = q.get("out-0").decisions[0]
    with q.engine.begin() as conn:
        conn.execute(sa.text("UPDATE decisions SET reviewer = 'mallory' WHERE seq = :s"), {"s": d.seq})
        row = conn.execute(sa.select(ch.decisions).where(ch.decisions.c.seq == d.seq)).one()._mapping
        conn.execute(sa.text("UPDATE decisions SET chain_hash = :h WHERE seq = :s"),
                     {"h": ch.link(row["chain_prev"], "decisions", row["chain_pos"], row), "s": d.seq})
    report = q.verify_chain()
    assert report.broken is not None
    assert (report.broken.table, report.broken.seq, report.broken.problem) == ("decisions", d.seq, "edited")
    q.close()


def test_an_anchor_catches_a_chain_rewritten_whole(sqlite_url: str) -> None:
    q = _busy_queue(sqlite_url)
    anchor = q.verify_chain().head
    q.decide("out-4", DecisionIn(verdict="approve", reviewer="alice"))
    # someone with the file edits a decision and links every row again, head included
    with q.engine.begin() as conn:
        conn.execute(sa.text("UPDATE decisions SET verdict = 'approve' WHERE seq = 1"))
        for t in (ch.decisions, ch.audit):
            conn.execute(sa.update(t).values(chain_pos=None, chain_prev=None, chain_hash=None))
        conn.execute(sa.update(ch.chain_head).values(pos=0, hash=ch.GENESIS))
        ch.chain_all(conn)
    assert q.verify_chain().ok  # without an anchor, a whole rewrite cannot be told apart
    code, out = _verify(sqlite_url, "--anchor", anchor)
    assert code != 0 and "rewritten" in out and anchor in out
    q.close()


def test_an_anchor_of_an_intact_chain_is_found(sqlite_url: str) -> None:
    q = _busy_queue(sqlite_url)
    anchor = q.verify_chain().head
    q.decide("out-4", DecisionIn(verdict="approve", reviewer="alice"))
    code, out = _verify(sqlite_url, "--anchor", anchor)
    assert code == 0 and "anchor found" in out
    q.close()


def test_the_migration_chains_a_database_written_before_the_chain(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from reviewer.storage import migrate
    from reviewer.storage.engine import make_engine

    url = db_url
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.SCRIPTS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
        conn.exec_driver_sql("INSERT INTO items (id, kind, queue, priority, status, tags, flag_reasons, flags, "
                             "snippet, search_text, payload, content_hash, created_at, enqueued_at, approvals, "
                             "updated_at) VALUES ('old-1', 'output', 'q1', 2, 'decided', '\n', '\n', '[]', 'x', "
                             "'x', '{\"kind\":\"output\",\"output\":\"x\"}', 'h', '2026-01-01 00:00:00', "
                             "'2026-01-01 00:00:00', 0, '2026-01-01 00:00:00')")
        conn.exec_driver_sql("INSERT INTO decisions (id, item_id, verdict, reviewer, reasons, scores, decided_at, "
                             "content_hash, by_kind) VALUES ('d-old', 'old-1', 'reject', 'bob', '[]', '{}', "
                             "'2026-01-01 00:00:00', 'h', 'human')")
        conn.exec_driver_sql("INSERT INTO audit (at, actor, action, item_id, detail) VALUES "
                             "('2026-01-01 00:00:00', 'bob', 'decide', 'old-1', '{}')")
    engine.dispose()
    q = SqlQueue.open(url)  # migrates to the head
    report = q.verify_chain()
    assert report.ok and report.counts == {"decisions": 1, "audit": 1}
    _sql(q, "UPDATE decisions SET verdict = 'approve' WHERE id = 'd-old'")
    assert q.verify_chain().broken is not None
    q.close()


@pytest.mark.postgres
def test_concurrent_writers_on_postgres_build_one_chain(pg_url: str) -> None:
    q = SqlQueue.open(pg_url)
    q.enqueue_many([action(i) for i in range(60)])
    errors: list[BaseException] = []

    def decide(start: int) -> None:
        try:
            for i in range(start, 60, 6):
                q.decide(f"act-{i}", DecisionIn(verdict="reject", reviewer=f"r{start}"))
                if i % 4 == 0:
                    q.undo(f"act-{i}", f"r{start}")
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=decide, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = q.verify_chain()
    assert report.ok, report.broken
    assert report.counts["decisions"] == 60 + 15
    q.close()


def test_readiness_reports_a_broken_chain(sqlite_url: str) -> None:
    q = _busy_queue(sqlite_url)
    _sql(q, "UPDATE audit SET actor = 'nobody' WHERE seq = 2")
    with serve(q, dev=True, sweep_s=0) as url:
        r = httpx.get(f"{url}/readyz")
    assert r.status_code == 503
    assert "audit row 2: edited" in r.json()["error"]
    q.close()


def test_readiness_notices_a_row_edited_after_it_said_ready(sqlite_url: str) -> None:
    q = _busy_queue(sqlite_url)
    with serve(q, dev=True, sweep_s=0) as url:
        assert httpx.get(f"{url}/readyz").status_code == 200
        q.decide("out-5", DecisionIn(verdict="approve", reviewer="alice"))
        assert httpx.get(f"{url}/readyz").status_code == 200
        last = q.audit()[-1]
        _sql(q, "UPDATE audit SET actor = 'nobody' WHERE seq = :s", s=last.seq)
        r = httpx.get(f"{url}/readyz")
    assert r.status_code == 503 and f"audit row {last.seq}: edited" in r.json()["error"]
    q.close()


def test_a_transaction_rolled_back_leaves_nothing_to_link(sqlite_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    q = SqlQueue.open(sqlite_url, clock=clock)
    q.enqueue_many([output(1), output(2)])
    q.claim("out-1", "alice", lease_s=1)
    clock.advance(5)
    with pytest.raises(Exception, match="no item"):
        q.claim_next("bob", after="not-there")  # its sweep wrote an audit row, then it failed
    q.decide("out-2", DecisionIn(verdict="approve", reviewer="bob"))
    report = q.verify_chain()
    assert report.ok, report.broken
    q.close()
