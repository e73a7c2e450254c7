"""Who may manage which tenants, and what well-formed tenant input looks like.

The roles are deliberately few: a superadmin manages everything; a domain
admin manages the projects, users and keypairs of their own domain (never a
superadmin, never a domain, never a policy's limits); a user manages nothing.
Every refusal raises :class:`~services.manager.handlers.CommandRefused`.
"""

from __future__ import annotations

import re

from events.tenant import ROLES, Role
from services.manager.directory import Directory, Principal
from services.manager.domain.identity import User
from services.manager.handlers import MAX_REQUEST_ID, NAME_RE, CommandRefused

#: lowercase, so ``Alice`` and ``alice`` cannot be two people; an e-mail address fits
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,127}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
MAX_TEXT = 512


def authenticate(directory: Directory, actor: str) -> Principal:
    principal = directory.resolve(actor) if actor else None
    if principal is None:
        raise CommandRefused(
            "unauthenticated",
            f"access key {actor!r} is unknown, revoked, or belongs to a deactivated user",
        )
    return principal


def require_superadmin(actor: Principal, action: str) -> None:
    if not actor.is_superadmin:
        raise CommandRefused("forbidden", f"only a superadmin may {action}")


def require_admin_of(actor: Principal, domain: str, action: str) -> None:
    if not actor.administers(domain):
        raise CommandRefused(
            "forbidden", f"{actor.username!r} may not {action} in domain {domain!r}"
        )


def require_manager_of(actor: Principal, user: User, action: str) -> None:
    """The actor may manage this user: their domain's admin, and above them in rank."""
    require_admin_of(actor, user.domain, action)
    if user.role == "superadmin" and not actor.is_superadmin:
        raise CommandRefused("forbidden", f"only a superadmin may {action} for a superadmin")


def require_can_grant(actor: Principal, role: str) -> Role:
    for known in ROLES:
        if role == known:
            if known == "superadmin" and not actor.is_superadmin:
                raise CommandRefused("forbidden", "only a superadmin may grant superadmin")
            return known
    raise CommandRefused("invalid-role", f"unknown role {role!r}; one of {', '.join(ROLES)}")


def require_not_self(actor: Principal, user: User, action: str) -> None:
    # Keeps the last superadmin from locking everybody out by accident.
    if actor.user_id == user.id:
        raise CommandRefused("forbidden", f"you may not {action} yourself")


def check_request_id(request_id: str) -> None:
    if not request_id or len(request_id) > MAX_REQUEST_ID:
        raise CommandRefused(
            "invalid-request-id", f"request_id must be 1..{MAX_REQUEST_ID} characters"
        )


def check_name(what: str, name: str) -> None:
    if not NAME_RE.match(name):
        raise CommandRefused(
            "invalid-name",
            f"{what} name {name!r}: 1-64 letters, digits, '.', '_' or '-', starting alnum",
        )


def check_username(username: str) -> None:
    if not USERNAME_RE.match(username):
        raise CommandRefused(
            "invalid-username",
            f"username {username!r}: 1-128 lowercase letters, digits or '._@+-', starting alnum",
        )


def check_email(email: str) -> None:
    if email and not EMAIL_RE.match(email):
        raise CommandRefused("invalid-email", f"{email!r} is not an e-mail address")


def check_text(what: str, text: str) -> None:
    if len(text) > MAX_TEXT:
        raise CommandRefused(f"invalid-{what}", f"{what} is at most {MAX_TEXT} characters")
