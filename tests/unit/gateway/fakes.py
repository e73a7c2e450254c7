"""Fakes for the gateway's unit tests: a manager that knows a few keypairs."""

from __future__ import annotations

import json
from typing import cast

import msgspec
from nats.aio.client import Client as NATS

from events.commands import CommandError, CommandReply
from services.manager.client import ManagerClient


class FakeManager(ManagerClient):
    """Answers ``auth.keypair`` from a table, and any other command from ``replies``."""

    def __init__(self) -> None:
        super().__init__(cast(NATS, None))
        self.keypairs: dict[str, dict[str, str]] = {}
        self.inactive: set[str] = set()
        self.lookups = 0
        self.sent: list[tuple[str, msgspec.Struct]] = []
        self.replies: dict[str, CommandReply] = {}

    def add_keypair(
        self, access_key: str, secret_key: str, *, role: str = "user", username: str = "ada"
    ) -> None:
        self.keypairs[access_key] = {
            "access_key": access_key,
            "user_id": f"user-{username}",
            "username": username,
            "role": role,
            "domain": "default",
            "projects": json.dumps(["default"]),
            "secret_key": secret_key,
        }

    async def lookup_keypair(self, access_key: str) -> CommandReply:
        self.lookups += 1
        if access_key in self.inactive:
            return CommandReply(ok=False, error=CommandError("keypair-inactive", "revoked"))
        found = self.keypairs.get(access_key)
        if found is None:
            return CommandReply(ok=False, error=CommandError("keypair-not-found", "unknown"))
        return CommandReply(ok=True, data=dict(found))

    async def send(self, name: str, command: msgspec.Struct) -> CommandReply:
        self.sent.append((name, command))
        return self.replies.get(name, CommandReply(ok=True, data={}))
