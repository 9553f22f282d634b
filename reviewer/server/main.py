"""The app uvicorn serves for `reviewer serve` (also with several worker processes, which
import it by name): its options come from the environment `reviewer serve` sets."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

DB, DEV, POLICY = "REVIEWER_SERVE_DB", "REVIEWER_SERVE_DEV", "REVIEWER_SERVE_POLICY"


def server_options() -> dict[str, Any]:
    """uvicorn's options for the gateway: connections that send nothing are closed (a request
    must begin within REQUEST_TIMEOUT_S, an idle keep-alive ends after 5 s), and a request's
    headers are at most 16 KiB."""
    from .protocol import PromptH11

    return {"http": PromptH11, "timeout_keep_alive": 5, "h11_max_incomplete_event_size": 16 * 1024}


def app() -> FastAPI:
    from reviewer.policy import load_policy
    from reviewer.storage import SqlQueue

    from .app import create_app

    policy = os.environ.get(POLICY)
    return create_app(SqlQueue.open(os.environ[DB]), dev=os.environ.get(DEV) == "1",
                      policy=load_policy(policy) if policy else None)
