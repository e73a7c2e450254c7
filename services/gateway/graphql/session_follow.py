"""Following sessions for ``sessionStatus``: one session's statuses, or every matching one.

A follower wakes when the ``sessions`` read model commits changes (see
:mod:`.feed`) and reads the statuses the session's events set, from its event log
(``session_event_log``, committed in the same transaction: the two models run in
one group), for every version newer than the last it sent, so a batch that took a
session through several statuses yields each of them, in order.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncGenerator

import strawberry

from projections.queries import StatusRow, Visibility
from services.gateway.errors import not_found
from services.gateway.graphql import reads
from services.gateway.graphql.access import may_see
from services.gateway.graphql.context import BerthContext
from services.gateway.graphql.errors import BerthError, as_graphql
from services.gateway.graphql.feed import Listener
from services.gateway.graphql.inputs import SessionFilter
from services.gateway.graphql.types import (
    FINAL_STATUSES,
    SessionStatus,
    SessionStatusChange,
    parse_time,
)

#: a follower of one session re-reads this often even without a notification
RECHECK_SECONDS = 5.0
#: ended sessions a filter subscription remembers, so late notifications repeat nothing
ENDED_MEMORY = 10_000
#: how long ``sessionStatus(id)`` waits for a session the read model has not shown yet
APPEAR_SECONDS = 10.0


def lagged() -> BerthError:
    return BerthError(
        "lagged", "this subscription fell too far behind the read model; subscribe again", 409
    )


def session_matches(f: SessionFilter, owner: reads.SessionOwner, status: str) -> bool:
    return (
        (not f.statuses or status in {s.value for s in f.statuses})
        and (f.project is None or f.project == owner.project)
        and (f.owner is None or f.owner == owner.access_key)
        and (f.name is None or f.name == owner.name)
    )


def _change(owner: reads.SessionOwner, row: StatusRow) -> SessionStatusChange:
    return SessionStatusChange(
        session_id=strawberry.ID(row.session_id),
        name=owner.name,
        version=row.version,
        status=SessionStatus(row.status),
        reason=row.reason,
        at=parse_time(row.at),
    )


def _may_see(visibility: Visibility, owner: reads.SessionOwner) -> bool:
    return may_see(visibility, user_id=owner.user_id, domain=owner.domain, project=owner.project)


async def visible_owner(ctx: BerthContext, session_id: str) -> reads.SessionOwner | None:
    owner = await ctx.state.read(reads.session_owner, session_id)
    return owner if owner is not None and _may_see(ctx.viewer.visibility, owner) else None


async def _wake_for(listener: Listener, aggregate_id: str) -> None:
    """Return when ``aggregate_id`` changed, when changes were dropped, or after a while.

    The timeout bounds how long a lost notification can hide a change.
    """
    deadline = time.monotonic() + RECHECK_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        batch = await listener.next(left)
        if batch.overflowed or any(c.aggregate_id == aggregate_id for c in batch.changes):
            return


async def one_session(
    ctx: BerthContext, session_id: str, replay: bool
) -> AsyncGenerator[SessionStatusChange, None]:
    """Each status of one session, in order, until it ends."""
    async with ctx.feed.listen("sessions") as listener:
        owner = await visible_owner(ctx, session_id)
        deadline = time.monotonic() + APPEAR_SECONDS
        while owner is None:  # just requested: the read model may not show it yet
            left = deadline - time.monotonic()
            if left <= 0:
                raise as_graphql(not_found(f"no session {session_id} visible to you"))
            await listener.next(min(left, 1.0))
            owner = await visible_owner(ctx, session_id)
        last = 0
        if not replay:
            current = await ctx.state.read(reads.status_changes, session_id, 0)
            last = current[-1].version if current else 0
        while True:
            for row in await ctx.state.read(reads.status_changes, session_id, last):
                yield _change(owner, row)
                last = row.version
                if SessionStatus(row.status) in FINAL_STATUSES:
                    return
            await _wake_for(listener, session_id)


async def matching_sessions(
    ctx: BerthContext, f: SessionFilter
) -> AsyncGenerator[SessionStatusChange, None]:
    """Each status change, from now on, of every visible session the filter matches."""
    vis = ctx.viewer.visibility
    #: the last version sent of each session, and the ended sessions, oldest first
    sent: dict[str, int] = {}
    ended: OrderedDict[str, None] = OrderedDict()
    async with ctx.feed.listen("sessions") as listener:
        while True:
            batch = await listener.next()
            if batch.overflowed:
                raise lagged()
            since: dict[str, int] = {}
            for c in batch.changes:
                if c.kind == "session" and c.version is not None:
                    since[c.aggregate_id] = min(since.get(c.aggregate_id, c.version), c.version)
            if not since:
                continue
            for owner, row in await ctx.state.read(reads.status_changes_of, since):
                if row.version <= sent.get(row.session_id, 0):
                    continue
                sent[row.session_id] = row.version
                if SessionStatus(row.status) in FINAL_STATUSES:
                    # Nothing follows an end, but late notifications of it may: forget
                    # ended sessions only once many others have ended since.
                    ended[row.session_id] = None
                    if len(ended) > ENDED_MEMORY:
                        sent.pop(ended.popitem(last=False)[0], None)
                if _may_see(vis, owner) and session_matches(f, owner, row.status):
                    yield _change(owner, row)
