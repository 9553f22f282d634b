"""The app uvicorn serves for `reviewer serve` (also with several worker processes, which
import it by name): its options come from the environment `reviewer serve` sets."""

from __future__ import annotations

import os

from fastapi import FastAPI

DB, DEV, POLICY = "REVIEWER_SERVE_DB", "REVIEWER_SERVE_DEV", "REVIEWER_SERVE_POLICY"


def app() -> FastAPI:
    from reviewer.policy import load_policy
    from reviewer.storage import SqlQueue

    from .app import create_app

    policy = os.environ.get(POLICY)
    return create_app(SqlQueue.open(os.environ[DB]), dev=os.environ.get(DEV) == "1",
                      policy=load_policy(policy) if policy else None)
