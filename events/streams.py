"""JetStream stream definitions, created (or brought up to date) idempotently at start.

Durability, and what each choice loses on a power failure of the NATS host:

- ``storage=file`` (default): messages are written to the store directory. With the
  server's default ``sync_interval`` (2 minutes) an acknowledged message survives a
  process crash but the last seconds to minutes may be lost if the machine loses
  power. The event store remains the source of truth: the relay re-publishes from
  the stream's last surviving message, so ``BERTH_EVENTS`` heals itself; facts in
  ``BERTH_FACTS`` lost that way are re-observed by agents on reconciliation.
- ``sync_interval: always`` (server setting, ``BERTH_NATS_SYNC=always`` for the
  embedded server): every acknowledged message is fsynced first; nothing
  acknowledged is lost, at several times the publish latency.
- ``storage=memory``: everything is lost when the server stops; for tests only.
- ``replicas``: in a NATS cluster, 3 keeps every acknowledged message through the
  loss of one node.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from events.subjects import EVENTS_WILDCARD, FACTS_WILDCARD

EVENTS_STREAM = "BERTH_EVENTS"
FACTS_STREAM = "BERTH_FACTS"


@dataclass(frozen=True)
class StreamDurability:
    storage: StorageType = StorageType.FILE
    replicas: int = 1
    #: how long JetStream remembers a Nats-Msg-Id for de-duplication (seconds)
    duplicate_window: float = 120.0

    @classmethod
    def from_env(cls) -> StreamDurability:
        storage = os.environ.get("BERTH_STREAM_STORAGE", "file").lower()
        if storage not in ("file", "memory"):
            raise ValueError(f"BERTH_STREAM_STORAGE must be 'file' or 'memory', not {storage!r}")
        return cls(
            storage=StorageType(storage),
            replicas=int(os.environ.get("BERTH_STREAM_REPLICAS", "1")),
            duplicate_window=float(os.environ.get("BERTH_STREAM_DUPLICATE_WINDOW", "120")),
        )


def stream_configs(durability: StreamDurability) -> list[StreamConfig]:
    common = {
        "retention": RetentionPolicy.LIMITS,
        "discard": DiscardPolicy.OLD,
        "storage": durability.storage,
        "num_replicas": durability.replicas,
        "duplicate_window": durability.duplicate_window,
        "allow_direct": True,
    }
    return [
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[EVENTS_WILDCARD],
            description="Every decided event, in notification order, exactly once",
            **common,  # type: ignore[arg-type]
        ),
        StreamConfig(
            name=FACTS_STREAM,
            subjects=[FACTS_WILDCARD],
            description="Observations reported by agents, ingested by the manager",
            **common,  # type: ignore[arg-type]
        ),
    ]


async def ensure_streams(js: JetStreamContext, durability: StreamDurability | None = None) -> None:
    """Create the streams, or update them to the configured settings."""
    for config in stream_configs(durability or StreamDurability.from_env()):
        assert config.name is not None
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
