"""The first administrator: after the first start, somebody can log in.

On a store without the ``admin`` user, one save creates the ``default`` resource
policy (unlimited), the ``default`` domain and project, the superadmin ``admin``
and a keypair for it, and the keypair's secret is written to
``<data_dir>/admin-credentials.json`` (mode 0600), its only copy in clear. On
every later start this does nothing: the ``admin`` aggregate's deterministic id
makes "does a first admin exist" one read, and two managers starting at once
collide in the store instead of making two admins.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime
from pathlib import Path

from eventsourcing.persistence import IntegrityError

from events.tenant import PolicyLimits
from events.tenant_commands import DEFAULT_POLICY
from services.manager.directory import Directory
from services.manager.domain.aggregate import Aggregate
from services.manager.domain.identity import Domain, Keypair, Project, User
from services.manager.domain.policy import ResourcePolicy
from services.manager.sealing import ManagerKey
from services.manager.store import EventStore
from services.manager.tenant_handlers import SECRET_KEY_BYTES

ADMIN_USERNAME = "admin"
DEFAULT_DOMAIN = "default"
DEFAULT_PROJECT = "default"
CREDENTIALS_FILE = "admin-credentials.json"
BOOTSTRAP_REQUEST = "first-admin"


def _partials(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob(f".{CREDENTIALS_FILE}.*.partial"))


def _write_partial(data_dir: Path, credentials: dict[str, str]) -> Path:
    # Per process, so two managers sharing a data directory never write one file.
    partial = data_dir / f".{CREDENTIALS_FILE}.{os.getpid()}.partial"
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(credentials, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    return partial


def _finish_interrupted(data_dir: Path, directory: Directory, admin: User) -> Path | None:
    """Complete a first start that saved the admin but died before renaming its credentials.

    The secret exists in clear only in that partial file; dropping it would leave
    an admin nobody can log in as.
    """
    finished: Path | None = None
    for partial in _partials(data_dir):
        try:
            access_key = str(json.loads(partial.read_text())["access_key"])
        except (OSError, ValueError, KeyError):
            access_key = ""
        keypair = directory.keypair(access_key) if access_key else None
        if finished is None and keypair is not None and keypair.user_id == admin.id:
            finished = data_dir / CREDENTIALS_FILE
            os.replace(partial, finished)
        else:
            partial.unlink(missing_ok=True)  # a start that lost the race: never saved
    return finished


def ensure_first_admin(
    store: EventStore, data_dir: Path, at: datetime, key: ManagerKey | None = None
) -> Path | None:
    """Create the first superadmin if there is none; the credentials file's path, or ``None``.

    ``key`` defaults to the manager's key (``BERTH_SECRET_KEY`` or ``<data_dir>/manager.key``).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    directory = Directory(store)
    admin = directory.user(ADMIN_USERNAME)
    if admin is not None:
        return _finish_interrupted(data_dir, directory, admin)
    key = key or ManagerKey.from_env(data_dir)

    # Reuse whatever defaults exist already, so a half-configured store still gets its admin.
    created: list[Aggregate] = []
    if directory.policy(DEFAULT_POLICY) is None:
        created.append(
            ResourcePolicy.define(
                name=DEFAULT_POLICY, limits=PolicyLimits(), request_id=BOOTSTRAP_REQUEST, at=at
            )
        )
    if directory.domain(DEFAULT_DOMAIN) is None:
        created.append(
            Domain.create(
                name=DEFAULT_DOMAIN,
                description="created at first start",
                request_id=BOOTSTRAP_REQUEST,
                at=at,
            )
        )
    if directory.project(DEFAULT_DOMAIN, DEFAULT_PROJECT) is None:
        created.append(
            Project.create(
                name=DEFAULT_PROJECT,
                domain=DEFAULT_DOMAIN,
                policy=DEFAULT_POLICY,
                description="created at first start",
                request_id=BOOTSTRAP_REQUEST,
                at=at,
            )
        )
    admin = User.create(
        username=ADMIN_USERNAME,
        email="",
        domain=DEFAULT_DOMAIN,
        role="superadmin",
        policy=DEFAULT_POLICY,
        request_id=BOOTSTRAP_REQUEST,
        at=at,
    )
    admin.add_to_project(DEFAULT_PROJECT, at)
    access_key = key.access_key_for(admin.id, BOOTSTRAP_REQUEST)
    secret_key = secrets.token_urlsafe(SECRET_KEY_BYTES)
    keypair = Keypair.issue(
        access_key=access_key,
        user=admin,
        policy=DEFAULT_POLICY,
        secret=key.seal(secret_key, access_key=access_key),
        request_id=BOOTSTRAP_REQUEST,
        at=at,
    )
    partial = _write_partial(
        data_dir,
        {
            "access_key": access_key,
            "secret_key": secret_key,
            "user": ADMIN_USERNAME,
            "domain": DEFAULT_DOMAIN,
            "project": DEFAULT_PROJECT,
        },
    )
    try:
        store.save(*created, admin, keypair)
    except IntegrityError:
        partial.unlink(missing_ok=True)  # another manager made the first admin just now
        return None
    path = data_dir / CREDENTIALS_FILE
    os.replace(partial, path)
    return path
