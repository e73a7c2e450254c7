"""What the benchmark stores: session requests, as the manager's command handlers save them.

Saves are blocking I/O and run in threads of their own, as the manager runs its
command handlers, so the relay keeps the event loop to itself. Each save's
notification ids are stamped with ``time.time()`` as soon as the save returns:
that is the moment the events are committed in the store.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from events.request_ids import new_request_id
from services.manager.domain.identity import user_id_for
from services.manager.domain.session import Session
from services.manager.store import EventStore
from tests.factories import requested_session


def new_sessions(count: int, tag: str | None = None) -> list[Session]:
    """``count`` requested sessions, each one ``SessionRequested`` event of a typical size.

    Each is requested at a moment of its own, a microsecond after the one before,
    as the manager stamps each request when it handles it: the read models'
    indexes on creation time see them arrive in order, as they do in service.
    Each carries a fresh request id, as the SDK and the gateway make them, so
    session ids sort by request time (:mod:`events.request_ids`). They belong to
    50 users, one keypair each, in 5 projects: the read models' indexes by owner,
    user and project each take new rows at as many places as a shared cluster's.
    Access keys and user ids are spelled as Berth makes them (20 characters; a UUID).
    """
    tag = tag or uuid.uuid4().hex[:12]
    start = datetime.now(UTC)
    return [
        requested_session(
            name=f"bench-{tag}-{n}",
            access_key=f"AKBENCH{n % 50:013d}",
            user_id=str(user_id_for(f"bench-user-{n % 50}")),
            project=f"project-{n % 5}",
            image="registry.local/berth/python:3.11",
            session_type="batch" if n % 2 else "interactive",
            resources={"cpu": str(1 + n % 4), "mem": f"{256 * (1 + n % 8)}m"},
            startup_command="python train.py --epochs 3" if n % 2 else None,
            request_id=new_request_id(),
            at=start + timedelta(microseconds=n),
        )
        for n in range(count)
    ]


def in_batches(sessions: list[Session], size: int) -> Iterator[list[Session]]:
    for first in range(0, len(sessions), size):
        yield sessions[first : first + size]


@dataclass
class Saved:
    """Each stored notification id with the wall-clock time its save returned."""

    ids: list[int] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    saves: int = 0

    def record(self, store_result: list[int], at: float) -> None:
        self.ids.extend(store_result)
        self.at.extend([at] * len(store_result))
        self.saves += 1

    @property
    def last_id(self) -> int:
        return self.ids[-1] if self.ids else 0


def save(store: EventStore, sessions: list[Session], saved: Saved) -> None:
    recordings = store.save(*sessions)
    saved.record([r.notification.id for r in recordings], time.time())


def save_all(store: EventStore, batches: list[list[Session]]) -> Saved:
    """Save prepared batches one after the other, as fast as the store takes them."""
    saved = Saved()
    for batch in batches:
        save(store, batch, saved)
    return saved


def save_paced(store: EventStore, rate: float, seconds: float, max_batch: int = 100) -> Saved:
    """Store ``rate`` events per second for ``seconds``.

    Each save takes the events that have fallen due since the last one: a single
    event when saves are quicker than the pace, a few at a time when one save
    takes longer than the gap between events (PostgreSQL's round trips).
    """
    total = max(1, round(rate * seconds))
    tag = uuid.uuid4().hex[:12]
    saved = Saved()
    sent = 0
    start = time.perf_counter()
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1, sent + max_batch)
        if due <= sent:
            # sleep until the next event falls due; the OS wakes us up a little late
            time.sleep(max(0.0, start + sent / rate - time.perf_counter()))
            continue
        save(store, new_sessions(due - sent, f"{tag}-{sent}"), saved)
        sent = due
    return saved
