"""What the gateway tests share: waiting for sessions, reading refusals, watching the log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.integration.gateway.signed_client import SignedClient

PATIENCE = 60.0
SMALL = {"cpu": 1, "mem": "64m"}


def refusal(reply: requests.Response) -> tuple[int, str]:
    body = reply.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"], body
    return reply.status_code, body["error"]["code"]


def create_session(client: SignedClient, name: str, **fields: Any) -> str:
    body = {"name": name, "image": "berth-small", "resources": SMALL, **fields}
    reply = client.post("/v1/sessions", body)
    assert reply.status_code == 201, reply.text
    assert reply.json()["status"] == "PENDING"
    session_id: str = reply.json()["session_id"]
    return session_id


def wait_session(client: SignedClient, session_id: str, *statuses: str) -> dict[str, Any]:
    """The session once the read model shows it in one of ``statuses``."""
    deadline = time.monotonic() + PATIENCE
    last: Any = None
    while time.monotonic() < deadline:
        reply = client.get(f"/v1/sessions/{session_id}")
        if reply.status_code == 200:
            last = reply.json()
            if last["status"] in statuses:
                return dict(last)
        time.sleep(0.1)
    raise AssertionError(f"session {session_id} never reached {statuses}; last seen {last}")


def wait_until(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        outcome = condition()
        if outcome:
            return outcome
        time.sleep(0.1)
    raise AssertionError(f"waited {PATIENCE:.0f} s for {what}")


@contextmanager
def no_events_of(events_path: Path, *topics: str) -> Iterator[None]:
    """Fails if the block stores any event whose type starts with one of ``topics``."""
    store = EventStore(StoreSettings(sqlite_path=events_path))
    try:
        before = store.max_notification_id()
        yield
        stored = store.app_recorder.select_notifications(before + 1, 10_000)
        written = [n.topic for n in stored if n.topic.startswith(topics)]
        assert written == [], f"refused, yet stored {written}"
    finally:
        store.close()
