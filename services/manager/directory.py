"""The directory: who a request's access key belongs to, and what they may use.

Built on the event store's repository alone: every tenant aggregate has a
deterministic id, so each question is answered by reading a few aggregates by id,
never by a scan or a read model (which could lag behind the log).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from events.tenant import Role
from services.manager.domain.aggregate import Aggregate, projector
from services.manager.domain.identity import (
    Domain,
    Keypair,
    Project,
    User,
    domain_id_for,
    keypair_id_for,
    project_id_for,
    user_id_for,
)
from services.manager.domain.policy import Limits, ResourcePolicy, policy_id_for, strictest
from services.manager.store import EventStore

A = TypeVar("A", bound=Aggregate)
Scope = Literal["keypair", "user", "project"]


class DirectoryLookupError(LookupError):
    """Something a principal's limits depend on does not exist (or is not theirs)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        #: ``project-not-found``, ``not-a-member`` or ``policy-not-found``
        self.code = code


@dataclass(frozen=True)
class Principal:
    """Whoever holds one access key, with everything authorisation asks about."""

    access_key: str
    user_id: UUID
    username: str
    email: str
    role: Role
    domain: str
    #: names of the projects (of ``domain``) the user is a member of
    projects: frozenset[str]
    keypair_policy: str
    user_policy: str
    keypair_active: bool
    user_active: bool

    @property
    def active(self) -> bool:
        return self.keypair_active and self.user_active

    @property
    def is_superadmin(self) -> bool:
        return self.role == "superadmin"

    def administers(self, domain: str) -> bool:
        """Whether this principal may manage tenants of ``domain``."""
        return self.is_superadmin or (self.role == "domain_admin" and self.domain == domain)


@dataclass(frozen=True)
class ScopedLimits:
    """The limits of one of the three policies a request is bound by, and whose they are."""

    scope: Scope
    #: the access key, the user id or ``<domain>/<project>``: whose usage they bound
    owner: str
    policy: str
    limits: Limits


@dataclass(frozen=True)
class EffectiveLimits(Limits):
    """The strictest combination of the keypair's, user's and project's policies.

    The fields inherited from :class:`Limits` bound one request and whatever its
    keypair holds. Usage that is shared — all of a user's keypairs, all of a
    project's members — is bounded by that scope's own policy in ``scopes``.
    """

    scopes: tuple[ScopedLimits, ...] = ()


class Directory:
    """Reads tenants from the store. With ``cached=True`` (the manager's long-lived
    directory) what it read is remembered until :meth:`forget`, which the manager
    calls after every tenant command; each request then costs no store reads."""

    def __init__(self, store: EventStore, *, cached: bool = False) -> None:
        self._store = store
        self._cached = cached
        self._memo: dict[UUID, Aggregate | None] = {}

    def forget(self) -> None:
        self._memo.clear()

    def _get(self, cls: type[A], aggregate_id: UUID) -> A | None:
        if self._cached and aggregate_id in self._memo:
            memo = self._memo[aggregate_id]
            return memo if isinstance(memo, cls) else None
        try:
            found: A | None = self._store.repository.get(
                aggregate_id, projector_func=projector(cls)
            )
        except AggregateNotFoundError:
            found = None
        if self._cached:
            self._memo[aggregate_id] = found
        return found

    def domain(self, name: str) -> Domain | None:
        return self._get(Domain, domain_id_for(name))

    def project(self, domain: str, name: str) -> Project | None:
        return self._get(Project, project_id_for(domain, name))

    def user(self, username: str) -> User | None:
        return self._get(User, user_id_for(username))

    def user_by_id(self, user_id: UUID) -> User | None:
        return self._get(User, user_id)

    def keypair(self, access_key: str) -> Keypair | None:
        return self._get(Keypair, keypair_id_for(access_key))

    def policy(self, name: str) -> ResourcePolicy | None:
        return self._get(ResourcePolicy, policy_id_for(name))

    def lookup(self, access_key: str) -> Principal | None:
        """The principal of an access key, revoked or deactivated ones included."""
        keypair = self.keypair(access_key)
        if keypair is None or keypair.user_id is None:
            return None
        user = self.user_by_id(keypair.user_id)
        if user is None:
            return None
        return Principal(
            access_key=keypair.access_key,
            user_id=user.id,
            username=user.username,
            email=user.email,
            role=user.role,
            domain=user.domain,
            projects=frozenset(user.projects),
            keypair_policy=keypair.policy,
            user_policy=user.policy,
            keypair_active=keypair.active,
            user_active=user.active,
        )

    def resolve(self, access_key: str) -> Principal | None:
        """The principal that may act with this access key; ``None`` if none may."""
        principal = self.lookup(access_key)
        if principal is None or not principal.active:
            return None
        return principal

    def _limits_of(self, name: str) -> Limits:
        policy = self.policy(name)
        if policy is None:
            raise DirectoryLookupError(
                "policy-not-found", f"resource policy {name!r} does not exist"
            )
        return policy.decoded

    def limits(self, principal: Principal, project: str) -> EffectiveLimits:
        """What ``principal`` may use for a session in ``project`` (of their domain).

        Raises :class:`DirectoryLookupError` when the project does not exist or
        the principal is not a member of it.
        """
        found = self.project(principal.domain, project)
        if found is None:
            raise DirectoryLookupError(
                "project-not-found",
                f"project {project!r} does not exist in domain {principal.domain!r}",
            )
        if project not in principal.projects:
            raise DirectoryLookupError(
                "not-a-member",
                f"user {principal.username!r} is not a member of project {project!r}",
            )
        scopes = (
            ScopedLimits(
                scope="keypair",
                owner=principal.access_key,
                policy=principal.keypair_policy,
                limits=self._limits_of(principal.keypair_policy),
            ),
            ScopedLimits(
                scope="user",
                owner=str(principal.user_id),
                policy=principal.user_policy,
                limits=self._limits_of(principal.user_policy),
            ),
            ScopedLimits(
                scope="project",
                owner=f"{principal.domain}/{project}",
                policy=found.policy,
                limits=self._limits_of(found.policy),
            ),
        )
        combined = strictest(*(scoped.limits for scoped in scopes))
        # Every field of Limits, so a limit added there can never be dropped here.
        inherited = {f.name: getattr(combined, f.name) for f in fields(Limits)}
        return EffectiveLimits(**inherited, scopes=scopes)
