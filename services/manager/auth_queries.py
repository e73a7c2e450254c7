"""``auth.keypair``: what the gateway needs to check a request signed with an access key.

The gateway verifies HMAC signatures, so it needs the keypair's secret in clear;
only the manager can unseal it. The reply carries the owner's principal fields
and the secret; an unknown key, or one revoked or of a deactivated user, is
refused without the secret. Nothing is written.

Whoever may request on ``berth.cmd.auth.>`` learns secrets: in a deployment
where other parties share the NATS server, its authorisation must allow that
subject to the gateway and the manager only.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from events.commands import CommandReply
from services.manager.handlers import CommandRefused
from services.manager.sealing import ManagerKey, UnsealError

if TYPE_CHECKING:  # the client imports this module; it needs no store
    from services.manager.directory import Directory

LOOKUP_KEYPAIR = "auth.keypair"


class LookupKeypair(msgspec.Struct, frozen=True, kw_only=True):
    access_key: str


def lookup_keypair(
    directory: Directory, key: ManagerKey, query: LookupKeypair, at: datetime
) -> CommandReply:
    """Reply ``data``: access_key, user_id, username, role, domain, projects (a JSON
    list), secret_key. Refusals: ``keypair-not-found``, ``keypair-inactive``,
    ``keypair-unusable`` (sealed under another manager key)."""
    principal = directory.lookup(query.access_key) if query.access_key else None
    keypair = directory.keypair(query.access_key) if principal is not None else None
    if principal is None or keypair is None or keypair.secret is None:
        raise CommandRefused("keypair-not-found", f"no keypair {query.access_key[:64]!r}")
    if not principal.active:
        raise CommandRefused(
            "keypair-inactive",
            f"keypair {principal.access_key} is revoked or belongs to a deactivated user",
        )
    try:
        secret_key = key.unseal(keypair.secret, access_key=principal.access_key)
    except UnsealError as exc:
        raise CommandRefused("keypair-unusable", str(exc)) from None
    return CommandReply(
        ok=True,
        data={
            "access_key": principal.access_key,
            "user_id": str(principal.user_id),
            "username": principal.username,
            "role": principal.role,
            "domain": principal.domain,
            "projects": json.dumps(sorted(principal.projects)),
            "secret_key": secret_key,
        },
    )
