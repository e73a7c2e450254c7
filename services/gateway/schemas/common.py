"""What bodies of every area share."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    """A request body: unknown fields are refused (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def request_id_field() -> Any:
    return Field(
        default=None,
        min_length=1,
        max_length=128,
        description="client id for idempotency: a repeated request is decided once",
    )


class Ok(BaseModel):
    ok: bool


class CommandDone(BaseModel):
    """A command the manager decided: what it made or changed, as the manager reports it."""

    data: dict[str, str]
    #: the manager recognised a repeated request and decided nothing new
    duplicate: bool = False
