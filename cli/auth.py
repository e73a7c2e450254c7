"""``berth login``, ``berth logout`` and ``berth whoami``: who the CLI acts as, and where.

``login`` checks the keys with the gateway before it keeps them: credentials
that do not work are never saved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from berth_sdk import ConfigurationError, Credentials, load_credentials
from berth_sdk.config import credentials_path, delete_credentials, save_credentials

from cli.connect import UsageError, connected, reported
from cli.output import JsonOption, details, emit_json, out


def _stored() -> Credentials:
    try:
        return load_credentials()
    except ConfigurationError:
        return Credentials()  # an unreadable file is about to be replaced


def _from_file(path: Path) -> tuple[str, str]:
    """The keys in a JSON file with ``access_key`` and ``secret_key`` (the first
    administrator's ``admin-credentials.json`` is one)."""
    try:
        data = json.loads(path.read_text())
        return str(data["access_key"]), str(data["secret_key"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} holds no access_key and secret_key: {exc}") from None


def login(
    endpoint: Annotated[
        str | None, typer.Option(help="The gateway's URL (prompted; default: the saved one).")
    ] = None,
    access_key: Annotated[str | None, typer.Option(help="Prompted when left out.")] = None,
    secret_key: Annotated[
        str | None,
        typer.Option(help="Prompted without echo when left out (safer than this option)."),
    ] = None,
    keys_file: Annotated[
        Path | None,
        typer.Option(
            "--keys-file",
            help="Read access_key and secret_key from this JSON file "
            "(e.g. the data directory's admin-credentials.json).",
        ),
    ] = None,
) -> None:
    """Check a keypair with the gateway and save it for later commands (mode 0600)."""
    with reported():
        stored = _stored()
        if keys_file is not None:
            access_key, secret_key = _from_file(keys_file)
        url = endpoint or typer.prompt("Endpoint", default=stored.endpoint)
        key = access_key or typer.prompt("Access key", default=stored.access_key or None)
        secret = secret_key or typer.prompt("Secret key", hide_input=True)
        credentials = Credentials(endpoint=url.rstrip("/"), access_key=key, secret_key=secret)
        with connected(credentials) as berth:
            me = berth.whoami()
        path = save_credentials(credentials)
        out.print(f"logged in to {credentials.endpoint} as {me.username} ({me.role})")
        out.print(f"credentials saved in {path}")
        overriding = [
            v
            for v in ("BERTH_ENDPOINT", "BERTH_ACCESS_KEY", "BERTH_SECRET_KEY")
            if os.environ.get(v)
        ]
        if overriding:
            out.print(f"note: {', '.join(overriding)} in the environment still take precedence")


def logout() -> None:
    """Forget the saved credentials."""
    with reported():
        removed = delete_credentials()
        if removed is None:
            out.print(f"not logged in (no {credentials_path()})")
        else:
            out.print(f"logged out: removed {removed}")


def whoami(as_json: JsonOption = False) -> None:
    """Show the user and keypair the CLI acts as."""
    with reported(), connected() as berth:
        me = berth.whoami()
        if as_json:
            emit_json(me)
            return
        details(
            me.username,
            [
                ("access key", me.access_key),
                ("role", me.role),
                ("domain", me.domain or "-"),
                ("projects", ", ".join(me.projects) or "-"),
                ("user id", me.user_id or "-"),
                ("endpoint", berth.endpoint),
            ],
        )
