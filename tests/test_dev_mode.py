"""`reviewer serve --dev` (loopback, no tokens) leaves nothing behind that grants access once
the gateway runs without it."""

from __future__ import annotations

import httpx

from reviewer.storage import SqlQueue
from reviewer.storage.tokens import Tokens

from gateway import serve


def test_dev_mode_mints_no_token_that_outlives_it(tmp_path):
    q = SqlQueue.open(f"sqlite:///{tmp_path / 'gw.db'}")
    with serve(q, dev=True) as url:
        r = httpx.post(f"{url}/v1/tokens", json={"name": "mallory", "role": "admin"})
        assert r.status_code == 403 and "dev mode mints no tokens" in r.json()["error"]
    assert Tokens(q.engine).list() == []
    with serve(q) as url:  # the same database, without --dev
        assert httpx.get(f"{url}/v1/stats").status_code == 401
    q.close()
