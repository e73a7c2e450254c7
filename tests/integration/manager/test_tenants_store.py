"""The first administrator and the directory survive the store being closed and reopened."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from events.tenant import PolicyLimits
from events.tenant_commands import DefineResourcePolicy, IssueKeypair
from services.manager import tenant_handlers
from services.manager.bootstrap_admin import ensure_first_admin
from services.manager.directory import Directory
from services.manager.sealing import ManagerKey
from services.manager.settings import StoreSettings
from services.manager.store import EventStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_first_admin_and_lookups_survive_reopening(
    store_settings: StoreSettings, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    key = ManagerKey.load(data_dir)
    with EventStore(store_settings) as store:
        path = ensure_first_admin(store, data_dir, NOW, key)
        assert path is not None
        admin_key = json.loads(path.read_text())["access_key"]
        tenant_handlers.define_policy(
            store,
            DefineResourcePolicy(
                request_id="p1",
                actor=admin_key,
                name="small",
                limits=PolicyLimits(total_resource_slots={"cpu": "4"}, idle_timeout=900),
            ),
            NOW,
        )
        issued = tenant_handlers.issue_keypair(
            store,
            IssueKeypair(request_id="k1", actor=admin_key, username="admin", policy="small"),
            NOW,
            key,
        )
        assert issued.data is not None
        written = store.max_notification_id()

    with EventStore(store_settings) as store:
        # a restarted manager finds its admin and makes no second one
        assert ensure_first_admin(store, data_dir, NOW, ManagerKey.load(data_dir)) is None
        assert store.max_notification_id() == written
        directory = Directory(store)
        principal = directory.resolve(issued.data["access_key"])
        assert principal is not None and principal.is_superadmin
        limits = directory.limits(principal, "default")
        assert str(limits.total_slots["cpu"]) == "4" and limits.idle_timeout == 900
        keypair = directory.keypair(issued.data["access_key"])
        assert keypair is not None and keypair.secret is not None
        reloaded = ManagerKey.load(data_dir)
        assert (
            reloaded.unseal(keypair.secret, access_key=keypair.access_key)
            == (issued.data["secret_key"])
        )
