"""NATS subject names: the only place they are spelled out."""

from __future__ import annotations

from uuid import UUID

from events.base import DomainEvent

EVENTS_PREFIX = "berth.ev"
FACTS_PREFIX = "berth.fact"
COMMANDS_PREFIX = "berth.cmd"
EVENTS_WILDCARD = f"{EVENTS_PREFIX}.>"
FACTS_WILDCARD = f"{FACTS_PREFIX}.>"

#: headers carried by every message on BERTH_EVENTS
MSG_ID_HEADER = "Nats-Msg-Id"
TOPIC_HEADER = "Berth-Topic"
#: sent by the relay with each message: the stream refuses it unless its last sequence is this
EXPECTED_LAST_SEQ_HEADER = "Nats-Expected-Last-Sequence"


def event_subject(kind: str, aggregate_id: UUID | str, event_name: str) -> str:
    return f"{EVENTS_PREFIX}.{kind}.{aggregate_id}.{event_name}"


def subject_for(event: DomainEvent) -> str:
    return event_subject(type(event).kind, event.originator_id, type(event).__name__)


def events_filter(kind: str = "*", aggregate_id: str = "*", event_name: str = "*") -> str:
    return f"{EVENTS_PREFIX}.{kind}.{aggregate_id}.{event_name}"


def agent_events(agent_id: UUID | str) -> str:
    return f"{EVENTS_PREFIX}.agent.{agent_id}.>"


def agent_facts(agent_id: UUID | str) -> str:
    return f"{FACTS_PREFIX}.{agent_id}.>"


def command_subject(name: str) -> str:
    return f"{COMMANDS_PREFIX}.{name}"


HEARTBEAT_PREFIX = "berth.hb"
HEARTBEAT_WILDCARD = f"{HEARTBEAT_PREFIX}.*"


def heartbeat_subject(agent_id: UUID | str) -> str:
    """Core NATS, not JetStream: liveness is not an event, only its meaning is."""
    return f"{HEARTBEAT_PREFIX}.{agent_id}"
