"""The first administrator and the manager key that seals keypair secrets."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.manager.bootstrap_admin import CREDENTIALS_FILE, ensure_first_admin
from services.manager.directory import Directory
from services.manager.sealing import KEY_ENV, KEY_FILE, ManagerKey, ManagerKeyError, UnsealError
from services.manager.settings import StoreSettings
from services.manager.store import EventStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[EventStore]:
    with EventStore(StoreSettings(backend="memory")) as store:
        yield store


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_first_start_creates_a_superadmin_with_private_credentials(
    store: EventStore, tmp_path: Path
) -> None:
    path = ensure_first_admin(store, tmp_path, NOW)

    assert path == tmp_path / CREDENTIALS_FILE
    assert mode(path) == 0o600
    credentials = json.loads(path.read_text())
    assert (credentials["user"], credentials["domain"], credentials["project"]) == (
        "admin",
        "default",
        "default",
    )
    directory = Directory(store)
    principal = directory.resolve(credentials["access_key"])
    assert principal is not None and principal.is_superadmin
    assert principal.projects == frozenset({"default"})
    limits = directory.limits(principal, "default")
    assert limits.total_slots == {} and limits.max_concurrent_sessions is None
    # the manager key was made on first use, readable by the manager's user alone
    assert mode(tmp_path / KEY_FILE) == 0o600
    keypair = directory.keypair(credentials["access_key"])
    assert keypair is not None and keypair.secret is not None
    key = ManagerKey.from_env(tmp_path)
    assert key.unseal(keypair.secret, access_key=keypair.access_key) == credentials["secret_key"]


def test_later_starts_change_nothing(store: EventStore, tmp_path: Path) -> None:
    first = ensure_first_admin(store, tmp_path, NOW)
    assert first is not None
    written = store.max_notification_id()
    credentials = first.read_text()

    assert ensure_first_admin(store, tmp_path, NOW) is None
    assert store.max_notification_id() == written
    assert first.read_text() == credentials


def test_the_first_admin_is_saved_in_one_transaction(store: EventStore, tmp_path: Path) -> None:
    ensure_first_admin(store, tmp_path, NOW)
    # policy, domain, project, user (created + added to project), keypair: one save
    assert store.max_notification_id() == 6
    notifications = store.app_recorder.select_notifications(1, 10)
    assert [n.topic.split("@")[0] for n in notifications] == [
        "rpolicy.ResourcePolicyDefined",
        "domain.DomainCreated",
        "project.ProjectCreated",
        "user.UserCreated",
        "user.UserAddedToProject",
        "keypair.KeypairIssued",
    ]


def test_a_start_interrupted_before_the_credentials_were_renamed_finishes_them(
    store: EventStore, tmp_path: Path
) -> None:
    path = ensure_first_admin(store, tmp_path, NOW)
    assert path is not None
    partial = tmp_path / f".{CREDENTIALS_FILE}.1234.partial"
    path.rename(partial)
    stale = tmp_path / f".{CREDENTIALS_FILE}.99.partial"
    stale.write_text(json.dumps({"access_key": "AKNEVERSAVED"}))

    assert ensure_first_admin(store, tmp_path, NOW) == path
    assert path.exists() and not partial.exists() and not stale.exists()


def test_the_key_from_the_environment_wins(
    store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = os.urandom(32)
    monkeypatch.setenv(KEY_ENV, base64.b64encode(raw).decode())
    path = ensure_first_admin(store, tmp_path, NOW)
    assert path is not None
    assert not (tmp_path / KEY_FILE).exists()
    credentials = json.loads(path.read_text())
    keypair = Directory(store).keypair(credentials["access_key"])
    assert keypair is not None and keypair.secret is not None
    opened = ManagerKey(raw).unseal(keypair.secret, access_key=keypair.access_key)
    assert opened == credentials["secret_key"]


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    ManagerKey.from_env(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(ManagerKeyError, match="0600"):
        ManagerKey.from_env(tmp_path)


def test_a_malformed_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManagerKeyError, match="base64"):
        ManagerKey.load(tmp_path, "not base64!")
    with pytest.raises(ManagerKeyError, match="32 bytes"):
        ManagerKey.load(tmp_path, base64.b64encode(b"short").decode())


def test_a_sealed_secret_opens_only_for_its_keypair_and_key() -> None:
    key = ManagerKey.generate()
    sealed = key.seal("s3cret", access_key="AKONE")
    assert key.unseal(sealed, access_key="AKONE") == "s3cret"
    with pytest.raises(UnsealError):
        key.unseal(sealed, access_key="AKTWO")
    with pytest.raises(UnsealError):
        ManagerKey.generate().unseal(sealed, access_key="AKONE")
