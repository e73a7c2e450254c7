"""Resource policies: the strictest-of-three rule, and the refusals it decides at admission."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from events.tenant import PolicyLimits
from services.manager.admission import admit_session
from services.manager.directory import Directory, DirectoryLookupError, Principal
from services.manager.domain.identity import Domain, Keypair, Project, User
from services.manager.domain.policy import (
    Limits,
    PolicyError,
    ResourcePolicy,
    strictest,
    validated,
)
from services.manager.handlers import CommandRefused
from services.manager.sealing import ManagerKey
from services.manager.settings import StoreSettings
from services.manager.store import EventStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = ManagerKey.generate()

KEYPAIR_POLICY = PolicyLimits(
    total_resource_slots={"cpu": "16", "mem": "68719476736"},
    max_concurrent_sessions=5,
    idle_timeout=3600,
    allowed_resource_groups=["cpu-pool", "gpu-pool"],
)
USER_POLICY = PolicyLimits(
    total_resource_slots={"cpu": "32", "cuda.device": "2"},
    max_concurrent_sessions=3,
    max_pending_sessions=10,
    max_session_lifetime=86400,
)
PROJECT_POLICY = PolicyLimits(
    total_resource_slots={"cpu": "8"},
    max_pending_slots={"cpu": "64"},
    idle_timeout=600,
    allowed_resource_groups=["gpu-pool", "big-pool"],
)


@pytest.fixture
def directory() -> Iterator[Directory]:
    """A user ``alice`` in project ``lattice``, a different policy at every level."""
    with EventStore(StoreSettings(backend="memory")) as store:
        policies = [
            ResourcePolicy.define(name=name, limits=limits, request_id="r", at=NOW)
            for name, limits in [
                ("kp", KEYPAIR_POLICY),
                ("usr", USER_POLICY),
                ("prj", PROJECT_POLICY),
            ]
        ]
        domain = Domain.create(name="physics", description="", request_id="r", at=NOW)
        lattice = Project.create(
            name="lattice", domain="physics", policy="prj", description="", request_id="r", at=NOW
        )
        other = Project.create(
            name="other", domain="physics", policy="prj", description="", request_id="r", at=NOW
        )
        alice = User.create(
            username="alice",
            email="",
            domain="physics",
            role="user",
            policy="usr",
            request_id="r",
            at=NOW,
        )
        alice.add_to_project("lattice", at=NOW)
        keypair = Keypair.issue(
            access_key="AKALICE",
            user=alice,
            policy="kp",
            secret=KEY.seal("s", access_key="AKALICE"),
            request_id="r",
            at=NOW,
        )
        store.save(*policies, domain, lattice, other, alice, keypair)
        yield Directory(store)


def alice(directory: Directory) -> Principal:
    principal = directory.resolve("AKALICE")
    assert principal is not None
    return principal


def test_the_strictest_of_keypair_user_and_project_policy_applies(directory: Directory) -> None:
    limits = directory.limits(alice(directory), "lattice")

    # each limit is the smallest any of the three sets; one none sets stays unlimited
    assert limits.total_slots == {
        "cpu": Decimal(8),
        "mem": Decimal(68719476736),
        "cuda.device": Decimal(2),
    }
    assert limits.max_concurrent_sessions == 3
    assert limits.max_pending_sessions == 10
    assert limits.max_pending_slots == {"cpu": Decimal(64)}
    assert limits.max_session_lifetime == 86400
    assert limits.idle_timeout == 600
    # only the groups every restricting policy allows
    assert limits.allowed_resource_groups == frozenset({"gpu-pool"})
    assert [(s.scope, s.policy) for s in limits.scopes] == [
        ("keypair", "kp"),
        ("user", "usr"),
        ("project", "prj"),
    ]


def test_unlimited_policies_leave_everything_unlimited() -> None:
    combined = strictest(Limits(), Limits(), Limits())
    assert combined == Limits()
    assert combined.allows_resource_group("anything")


def test_disjoint_group_lists_allow_no_group_at_all() -> None:
    combined = strictest(
        Limits(allowed_resource_groups=frozenset({"a"})),
        Limits(allowed_resource_groups=frozenset({"b"})),
    )
    assert combined.allowed_resource_groups == frozenset()
    assert not combined.allows_resource_group("a")


def test_limits_for_a_project_the_user_is_not_in_are_refused(directory: Directory) -> None:
    with pytest.raises(DirectoryLookupError) as info:
        directory.limits(alice(directory), "other")
    assert info.value.code == "not-a-member"
    with pytest.raises(DirectoryLookupError) as info:
        directory.limits(alice(directory), "missing")
    assert info.value.code == "project-not-found"


def test_policy_amounts_are_normalised_and_zero_forbids_a_slot() -> None:
    checked = validated(
        PolicyLimits(total_resource_slots={"cpu": "10", "mem": "1.50", "cuda.device": "0"})
    )
    assert checked.total_resource_slots == {"cpu": "10", "mem": "1.5", "cuda.device": "0"}
    for bad in (
        PolicyLimits(total_resource_slots={"cpu": "lots"}),
        PolicyLimits(total_resource_slots={"CPU": "1"}),
        PolicyLimits(max_pending_slots={"cpu": "Infinity"}),
        PolicyLimits(max_concurrent_sessions=-1),
        PolicyLimits(allowed_resource_groups=["no spaces"]),
        # a billion digits in fixed point: refused before it is written out
        PolicyLimits(total_resource_slots={"mem": "1e999999999"}),
        PolicyLimits(total_resource_slots={"cpu": "1e-999999999"}),
    ):
        with pytest.raises(PolicyError):
            validated(bad)


def admit(directory: Directory, **overrides: object) -> str:
    fields: dict[str, object] = {
        "access_key": "AKALICE",
        "project": "lattice",
        "resource_group": "gpu-pool",
        "slots": {"cpu": Decimal(4)},
    }
    fields.update(overrides)
    with pytest.raises(CommandRefused) as info:
        admit_session(directory, **fields)  # type: ignore[arg-type]
    return info.value.code


def test_admission_passes_a_request_within_every_policy(directory: Directory) -> None:
    admission = admit_session(
        directory,
        access_key="AKALICE",
        project="lattice",
        resource_group="gpu-pool",
        slots={"cpu": Decimal(8), "cuda.device": Decimal(1)},
    )
    assert admission.principal.username == "alice"
    assert admission.limits.max_concurrent_sessions == 3


def test_admission_refusals_name_the_reason(directory: Directory) -> None:
    assert admit(directory, access_key="AKNOBODY") == "unauthenticated"
    assert admit(directory, project="other") == "not-a-member"
    assert admit(directory, resource_group="cpu-pool") == "resource-group-not-allowed"
    assert admit(directory, slots={"cpu": Decimal(9)}) == "quota-exceeded"
    assert admit(directory, slots={"cuda.device": Decimal(3)}) == "quota-exceeded"


def test_a_quota_refusal_names_the_policy_that_binds(directory: Directory) -> None:
    with pytest.raises(CommandRefused) as info:
        admit_session(
            directory,
            access_key="AKALICE",
            project="lattice",
            resource_group="gpu-pool",
            slots={"cpu": Decimal(9)},
        )
    assert "project policy 'prj'" in info.value.message
