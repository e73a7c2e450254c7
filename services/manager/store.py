"""The manager's event store: one ``eventsourcing`` Application, SQLite or PostgreSQL.

One application means one totally ordered notification log and atomic saves
across aggregates. Listeners registered with :meth:`on_saved` are called with the
notifications of each save once it has committed: the relay in the same process
publishes them from there, without reading them back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, NamedTuple, cast
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, ProcessRecorder, StoredEvent, Tracking
from eventsourcing.utils import get_topic
from psycopg.conninfo import conninfo_to_dict

from events import codec
from events.base import DomainEvent
from events.relay import StoredNotification
from services.manager.mapper import MsgspecMapper, NullTranscoder
from services.manager.settings import StoreSettings
from services.manager.sqlite_recorder import BerthSQLiteFactory

#: called with the notifications of each save, in order, once they are committed
SaveListener = Callable[[Sequence[StoredNotification]], None]


class _Row(NamedTuple):
    """An event as the recorders store it: what they read of the library's ``StoredEvent``."""

    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class SavedNotification(NamedTuple):
    """A saved event as the notification log holds it (what the relay publishes)."""

    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class Saved(NamedTuple):
    """One event of a save, and its notification."""

    domain_event: DomainEvent
    notification: SavedNotification


_new = tuple.__new__

#: the PostgreSQL advisory lock key taken while creating the store's tables
TABLE_CREATION_LOCK = 0x6265727468  # "berth"


def store_env(settings: StoreSettings) -> dict[str, str]:
    """The eventsourcing environment for the configured backend."""
    if settings.backend == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if settings.backend == "sqlite":
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": get_topic(BerthSQLiteFactory),
            "SQLITE_DBNAME": str(settings.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    params = conninfo_to_dict(settings.pg_dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname", "berth")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_SCHEMA": settings.pg_schema,
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "4",
    }


@contextmanager
def _one_at_a_time_creating_tables(settings: StoreSettings) -> Iterator[None]:
    """On PostgreSQL, processes starting together create the tables in turn.

    Creating them runs the library's ``CREATE OR REPLACE FUNCTION``, which
    PostgreSQL refuses with "tuple concurrently updated" when two processes
    (two relays, a manager and a relay) do it at the same moment. A session
    advisory lock, released when its connection closes, makes them take turns.
    """
    if settings.backend != "postgres":
        yield
        return
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (TABLE_CREATION_LOCK,))
        yield


class EventStore(Application[UUID]):
    """The single source of truth. Every other view of Berth is derived from it."""

    name = "berth"
    env: ClassVar[dict[str, str]] = {
        "MAPPER_TOPIC": get_topic(MsgspecMapper),
        "TRANSCODER_TOPIC": get_topic(NullTranscoder),
        "CREATE_TABLE": "true",
    }

    def __init__(self, settings: StoreSettings | None = None) -> None:
        self.settings = settings or StoreSettings.from_env()
        # Explicit keys win over the process environment, so one process can
        # open a SQLite and a PostgreSQL store side by side (tests, replay).
        super().__init__(env=store_env(self.settings))
        self._save_listeners: list[SaveListener] = []
        #: saves of this process between their insert and the listeners' call
        self._saves_under_way = 0
        self._saving_lock = threading.Lock()

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder also keeps tracking records, so facts ingested from
        # BERTH_FACTS are stored with their stream position in the same transaction.
        with _one_at_a_time_creating_tables(self.settings):
            return self.factory.process_recorder()

    def save_aggregates(
        self, aggregates: Sequence[Any], tracking: tuple[str, int] | None = None
    ) -> list[Saved]:
        """Save Berth's aggregates' new events (optionally with a tracking record).

        What the library's ``save`` does, without its runtime protocol checks on every
        object, and with named tuples where it makes a frozen dataclass for each event
        three times over (its stored event, notification and recording): those cost
        more than the insert on the manager's hot path. Saving the same tracking
        position twice raises ``IntegrityError`` and writes nothing, which is what
        makes ingestion exactly-once.
        """
        events: list[DomainEvent] = []
        for aggregate in aggregates:
            if aggregate is not None:
                events += aggregate.collect_events()
        # Each tuple made without its class's Python-level ``__new__``: three per event.
        rows = [
            _new(_Row, (e.originator_id, e.originator_version, *codec.encode(e))) for e in events
        ]
        with self._saving_lock:
            self._saves_under_way += 1
        try:
            ids = self.recorder.insert_events(
                cast(list[StoredEvent], rows), tracking=Tracking(*tracking) if tracking else None
            )
            # A save of only a tracking record gets no ids (None from PostgreSQL's recorder).
            ids = ids or []
            assert len(ids) == len(rows), "the recorder numbers every event it stores"
            saved = [
                _new(Saved, (event, _new(SavedNotification, (notification_id, *row))))
                for event, row, notification_id in zip(events, rows, ids, strict=True)
            ]
            self._tell_listeners(saved)
        finally:
            with self._saving_lock:
                self._saves_under_way -= 1
        return saved

    # The library's ``save`` returns its ``Recording`` dataclasses; Berth's returns ``Saved``
    # tuples of the same shape, and must replace it: the library's would not tell the listeners.
    def save(self, *objs: Any, **kwargs: Any) -> list[Saved]:  # type: ignore[override]
        """Save the aggregates' new events, as :meth:`save_aggregates` does."""
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(sorted(kwargs))}")
        return self.save_aggregates(objs)

    def tracked_position(self, source: str) -> int:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder.max_tracking_id(source) or 0

    @property
    def app_recorder(self) -> ApplicationRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ApplicationRecorder)
        return recorder

    def saving(self) -> bool:
        """Whether a save of this process is under way: what it stores is about to be told to
        the listeners (thread-safe)."""
        return self._saves_under_way > 0

    def on_saved(self, listener: SaveListener) -> None:
        self._save_listeners.append(listener)

    def _tell_listeners(self, saved: list[Saved]) -> None:
        if not saved or not self._save_listeners:
            return
        notifications = [s.notification for s in saved]
        for listener in self._save_listeners:
            listener(notifications)

    def max_notification_id(self) -> int:
        return self.app_recorder.max_notification_id() or 0

    def close(self) -> None:
        super().close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
