"""``auth.keypair``: the gateway learns a keypair's owner and secret, or why it cannot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from events import tenant_commands as tc
from services.manager.auth_queries import LookupKeypair, lookup_keypair
from services.manager.bootstrap_admin import ensure_first_admin
from services.manager.directory import Directory
from services.manager.handlers import CommandRefused
from services.manager.sealing import ManagerKey
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from services.manager.tenant_handlers import issue_keypair, revoke_keypair

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[EventStore]:
    with EventStore(StoreSettings(backend="memory")) as store:
        yield store


def _refused(directory: Directory, key: ManagerKey, access_key: str) -> str:
    with pytest.raises(CommandRefused) as refused:
        lookup_keypair(directory, key, LookupKeypair(access_key=access_key), NOW)
    return refused.value.code


def test_a_keypair_is_answered_with_its_owner_and_secret_until_revoked(
    store: EventStore, tmp_path: Path
) -> None:
    key = ManagerKey.generate()
    path = ensure_first_admin(store, tmp_path, NOW, key)
    assert path is not None
    admin = json.loads(path.read_text())
    directory = Directory(store)

    reply = lookup_keypair(directory, key, LookupKeypair(access_key=admin["access_key"]), NOW)
    assert reply.ok and reply.data is not None
    assert reply.data["secret_key"] == admin["secret_key"]
    assert (reply.data["username"], reply.data["role"], reply.data["domain"]) == (
        "admin",
        "superadmin",
        "default",
    )
    assert json.loads(reply.data["projects"]) == ["default"]

    issued = issue_keypair(
        store,
        tc.IssueKeypair(request_id="r1", actor=admin["access_key"], username="admin"),
        NOW,
        key,
    )
    assert issued.data is not None
    second = issued.data["access_key"]
    revoke_keypair(
        store, tc.RevokeKeypair(request_id="r2", actor=admin["access_key"], access_key=second), NOW
    )
    assert _refused(Directory(store), key, second) == "keypair-inactive"
    assert _refused(directory, key, "AKNOBODY") == "keypair-not-found"
    assert _refused(directory, key, "") == "keypair-not-found"
    # Sealed under another manager key: the secret cannot be opened.
    assert _refused(Directory(store), ManagerKey.generate(), admin["access_key"]) == (
        "keypair-unusable"
    )
