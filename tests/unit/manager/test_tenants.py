"""Tenant commands on the in-memory store: creation, collisions, roles, keypairs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from events import tenant_commands as tc
from events.commands import CommandReply
from events.tenant import PolicyLimits
from services.manager.bootstrap_admin import ensure_first_admin
from services.manager.directory import Directory
from services.manager.handlers import CommandRefused
from services.manager.sealing import ManagerKey
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from services.manager.tenant_handlers import routes

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Tenants:
    """The manager's tenant commands as a caller sees them, by subject name."""

    def __init__(self, store: EventStore, key: ManagerKey, admin_key: str) -> None:
        self.store = store
        self.key = key
        self.admin = admin_key
        self.directory = Directory(store)
        self._routes = {route.name: route for route in routes(key)}
        self._counter = 0

    def send(self, subject: str, actor: str | None = None, /, **fields: Any) -> CommandReply:
        self._counter += 1
        fields.setdefault("request_id", f"req-{self._counter}")
        route = self._routes[subject]
        command = route.command_type(actor=self.admin if actor is None else actor, **fields)
        return route.handler(self.store, command, NOW)

    def refused(self, subject: str, actor: str | None = None, /, **fields: Any) -> str:
        """The refusal's code; asserts that nothing was written."""
        before = self.store.max_notification_id()
        with pytest.raises(CommandRefused) as info:
            self.send(subject, actor, **fields)
        assert self.store.max_notification_id() == before
        return info.value.code

    def user_with_key(self, domain: str, username: str, role: str = "user") -> str:
        self.send(tc.CREATE_USER, domain=domain, username=username, role=role)
        reply = self.send(tc.ISSUE_KEYPAIR, username=username)
        assert reply.data is not None
        return reply.data["access_key"]


@pytest.fixture
def store() -> Iterator[EventStore]:
    with EventStore(StoreSettings(backend="memory")) as store:
        yield store


@pytest.fixture
def tenants(store: EventStore, tmp_path: Path) -> Tenants:
    key = ManagerKey.generate()
    path = ensure_first_admin(store, tmp_path, NOW, key)
    assert path is not None
    credentials = json.loads(path.read_text())
    return Tenants(store, key, credentials["access_key"])


def test_an_admin_builds_a_tenant_that_the_directory_resolves(tenants: Tenants) -> None:
    tenants.send(tc.CREATE_DOMAIN, name="physics")
    tenants.send(tc.CREATE_PROJECT, domain="physics", name="lattice")
    tenants.send(tc.CREATE_USER, domain="physics", username="alice", email="alice@example.org")
    tenants.send(tc.ADD_USER_TO_PROJECT, username="alice", project="lattice")
    issued = tenants.send(tc.ISSUE_KEYPAIR, username="alice")

    assert issued.ok and issued.data is not None
    access_key, secret_key = issued.data["access_key"], issued.data["secret_key"]
    assert access_key.startswith("AK") and len(access_key) == 20 and access_key.isupper()
    assert len(secret_key) == 40
    principal = tenants.directory.resolve(access_key)
    assert principal is not None
    assert (principal.username, principal.email, principal.role, principal.domain) == (
        "alice",
        "alice@example.org",
        "user",
        "physics",
    )
    assert principal.projects == frozenset({"lattice"})
    assert principal.active


@pytest.mark.parametrize(
    ("subject", "fields", "code"),
    [
        (tc.CREATE_DOMAIN, {"name": "default"}, "domain-exists"),
        (tc.CREATE_PROJECT, {"domain": "default", "name": "default"}, "project-exists"),
        (tc.CREATE_USER, {"domain": "default", "username": "admin"}, "user-exists"),
        (tc.DEFINE_POLICY, {"name": "default"}, "policy-exists"),
        (tc.CREATE_PROJECT, {"domain": "nowhere", "name": "p"}, "domain-not-found"),
        (tc.CREATE_PROJECT, {"domain": "default", "name": "p", "policy": "x"}, "policy-not-found"),
        (tc.CREATE_USER, {"domain": "nowhere", "username": "bob"}, "domain-not-found"),
        (tc.CREATE_USER, {"domain": "default", "username": "Bob"}, "invalid-username"),
        (tc.CREATE_USER, {"domain": "default", "username": "b", "email": "no"}, "invalid-email"),
        (tc.CREATE_USER, {"domain": "default", "username": "b", "role": "root"}, "invalid-role"),
        (tc.CREATE_DOMAIN, {"name": "a b"}, "invalid-name"),
        (tc.CREATE_DOMAIN, {"name": "d", "request_id": ""}, "invalid-request-id"),
        (tc.ADD_USER_TO_PROJECT, {"username": "nobody", "project": "default"}, "user-not-found"),
        (tc.ADD_USER_TO_PROJECT, {"username": "admin", "project": "nope"}, "project-not-found"),
        (tc.ISSUE_KEYPAIR, {"username": "nobody"}, "user-not-found"),
        (tc.REVOKE_KEYPAIR, {"access_key": "AKNOSUCHKEY"}, "keypair-not-found"),
        (tc.CHANGE_POLICY, {"name": "nope", "limits": PolicyLimits()}, "policy-not-found"),
        (
            tc.DEFINE_POLICY,
            {"name": "p", "limits": PolicyLimits(total_resource_slots={"cpu": "-1"})},
            "invalid-limits",
        ),
        (
            tc.DEFINE_POLICY,
            {"name": "p", "limits": PolicyLimits(idle_timeout=0)},
            "invalid-limits",
        ),
    ],
)
def test_refusals_are_precise_and_write_nothing(
    tenants: Tenants, subject: str, fields: dict[str, Any], code: str
) -> None:
    assert tenants.refused(subject, **fields) == code


def test_a_repeated_create_is_answered_once_and_a_different_one_collides(
    tenants: Tenants,
) -> None:
    first = tenants.send(tc.CREATE_DOMAIN, name="chem", request_id="mk-chem")
    written = tenants.store.max_notification_id()
    again = tenants.send(tc.CREATE_DOMAIN, name="chem", request_id="mk-chem")
    assert first.ok and not first.duplicate and first.notification_id == written
    assert again.ok and again.duplicate and again.data == first.data
    assert tenants.store.max_notification_id() == written
    assert tenants.refused(tc.CREATE_DOMAIN, name="chem", request_id="other") == "domain-exists"


def test_a_user_may_manage_nothing(tenants: Tenants) -> None:
    alice = tenants.user_with_key("default", "alice")
    for subject, fields in [
        (tc.CREATE_DOMAIN, {"name": "mine"}),
        (tc.CREATE_PROJECT, {"domain": "default", "name": "mine"}),
        (tc.CREATE_USER, {"domain": "default", "username": "friend"}),
        (tc.ISSUE_KEYPAIR, {"username": "alice"}),
        (tc.REVOKE_KEYPAIR, {"access_key": tenants.admin}),
        (tc.DEFINE_POLICY, {"name": "mine"}),
        (tc.ASSIGN_USER_POLICY, {"username": "alice", "policy": "default"}),
    ]:
        assert tenants.refused(subject, alice, **fields) == "forbidden", subject


def test_a_domain_admin_manages_only_their_own_domain(tenants: Tenants) -> None:
    tenants.send(tc.CREATE_DOMAIN, name="physics")
    tenants.send(tc.CREATE_DOMAIN, name="chem")
    dora = tenants.user_with_key("physics", "dora", role="domain_admin")
    carl = tenants.user_with_key("chem", "carl")

    assert tenants.send(tc.CREATE_PROJECT, dora, domain="physics", name="lattice").ok
    assert tenants.send(tc.CREATE_USER, dora, domain="physics", username="pat").ok
    issued = tenants.send(tc.ISSUE_KEYPAIR, dora, username="pat")
    assert issued.data is not None and "secret_key" in issued.data
    assert tenants.send(tc.REVOKE_KEYPAIR, dora, access_key=issued.data["access_key"]).ok

    assert tenants.refused(tc.CREATE_PROJECT, dora, domain="chem", name="x") == "forbidden"
    assert tenants.refused(tc.REVOKE_KEYPAIR, dora, access_key=carl) == "forbidden"
    assert tenants.refused(tc.CREATE_DOMAIN, dora, name="mine") == "forbidden"
    assert tenants.refused(tc.DEFINE_POLICY, dora, name="big") == "forbidden"
    assert (
        tenants.refused(tc.CREATE_USER, dora, domain="physics", username="boss", role="superadmin")
        == "forbidden"
    )


def test_a_domain_admin_cannot_touch_a_superadmin_in_their_domain(tenants: Tenants) -> None:
    dora = tenants.user_with_key("default", "dora", role="domain_admin")
    assert tenants.refused(tc.REVOKE_KEYPAIR, dora, access_key=tenants.admin) == "forbidden"
    assert tenants.refused(tc.DEACTIVATE_USER, dora, username="admin") == "forbidden"
    assert tenants.refused(tc.CHANGE_USER_ROLE, dora, username="admin", role="user") == (
        "forbidden"
    )


def test_nobody_deactivates_or_demotes_themselves(tenants: Tenants) -> None:
    assert tenants.refused(tc.DEACTIVATE_USER, username="admin") == "forbidden"
    assert tenants.refused(tc.CHANGE_USER_ROLE, username="admin", role="user") == "forbidden"


def test_an_unknown_actor_is_unauthenticated(tenants: Tenants) -> None:
    assert tenants.refused(tc.CREATE_DOMAIN, "AKUNKNOWN", name="x") == "unauthenticated"
    assert tenants.refused(tc.CREATE_DOMAIN, "", name="x") == "unauthenticated"


def test_a_revoked_key_resolves_to_nobody_and_may_act_no_more(tenants: Tenants) -> None:
    dora = tenants.user_with_key("default", "dora", role="domain_admin")
    revoked = tenants.send(tc.REVOKE_KEYPAIR, access_key=dora)
    assert revoked.ok and not revoked.duplicate
    assert tenants.directory.resolve(dora) is None
    looked_up = tenants.directory.lookup(dora)
    assert looked_up is not None and not looked_up.keypair_active
    written = tenants.store.max_notification_id()
    assert tenants.send(tc.REVOKE_KEYPAIR, access_key=dora).duplicate
    assert tenants.store.max_notification_id() == written
    assert tenants.refused(tc.CREATE_USER, dora, domain="default", username="x") == (
        "unauthenticated"
    )
    assert tenants.refused(tc.ASSIGN_KEYPAIR_POLICY, access_key=dora, policy="default") == (
        "keypair-revoked"
    )


def test_a_deactivated_users_keys_resolve_to_nobody(tenants: Tenants) -> None:
    alice = tenants.user_with_key("default", "alice")
    assert tenants.send(tc.DEACTIVATE_USER, username="alice").ok
    assert tenants.directory.resolve(alice) is None
    assert tenants.refused(tc.ISSUE_KEYPAIR, username="alice") == "user-deactivated"
    assert tenants.refused(tc.ADD_USER_TO_PROJECT, username="alice", project="default") == (
        "user-deactivated"
    )


def test_the_secret_is_sealed_in_the_log_and_opens_with_the_manager_key(
    tenants: Tenants,
) -> None:
    tenants.send(tc.CREATE_USER, domain="default", username="alice")
    issued = tenants.send(tc.ISSUE_KEYPAIR, username="alice")
    assert issued.data is not None
    access_key, secret_key = issued.data["access_key"], issued.data["secret_key"]

    payloads = b"".join(n.state for n in tenants.store.app_recorder.select_notifications(1, 1000))
    assert access_key.encode() in payloads
    assert secret_key.encode() not in payloads
    keypair = tenants.directory.keypair(access_key)
    assert keypair is not None and keypair.secret is not None
    assert tenants.key.unseal(keypair.secret, access_key=access_key) == secret_key


def test_a_repeated_issue_gives_the_same_key_but_never_the_secret_again(
    tenants: Tenants,
) -> None:
    tenants.send(tc.CREATE_USER, domain="default", username="alice")
    first = tenants.send(tc.ISSUE_KEYPAIR, username="alice", request_id="key-1")
    written = tenants.store.max_notification_id()
    again = tenants.send(tc.ISSUE_KEYPAIR, username="alice", request_id="key-1")
    other = tenants.send(tc.ISSUE_KEYPAIR, username="alice", request_id="key-2")
    assert first.data is not None and again.data is not None and other.data is not None
    assert again.duplicate and again.data["access_key"] == first.data["access_key"]
    assert "secret_key" not in again.data
    assert other.data["access_key"] != first.data["access_key"]
    assert tenants.store.max_notification_id() == written + 1


def test_policy_assignments_and_changes_record_only_what_changes(tenants: Tenants) -> None:
    limits = PolicyLimits(total_resource_slots={"cpu": "8"}, max_concurrent_sessions=2)
    assert tenants.send(tc.DEFINE_POLICY, name="small", limits=limits).ok
    assert not tenants.send(tc.ASSIGN_USER_POLICY, username="admin", policy="small").duplicate
    assert tenants.send(tc.ASSIGN_USER_POLICY, username="admin", policy="small").duplicate
    assert not tenants.send(
        tc.ASSIGN_PROJECT_POLICY, domain="default", project="default", policy="small"
    ).duplicate
    assert tenants.send(tc.CHANGE_POLICY, name="small", limits=limits).duplicate
    changed = tenants.send(
        tc.CHANGE_POLICY, name="small", limits=PolicyLimits(total_resource_slots={"cpu": "4"})
    )
    assert changed.ok and not changed.duplicate
    policy = tenants.directory.policy("small")
    assert policy is not None
    assert policy.limits.total_resource_slots == {"cpu": "4"}
    assert policy.limits.max_concurrent_sessions is None  # a change replaces every limit
