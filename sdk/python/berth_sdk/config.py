"""Where a client finds the gateway and its keys: the environment, then the credentials file.

``BERTH_ENDPOINT``, ``BERTH_ACCESS_KEY`` and ``BERTH_SECRET_KEY`` win, field by
field, over ``<config dir>/credentials.json``, which ``berth login`` writes
(mode 0600, in a directory of mode 0700). The config directory is
``BERTH_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/berth``, else ``~/.config/berth``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import msgspec

from berth_sdk.errors import ConfigurationError

DEFAULT_ENDPOINT = "http://127.0.0.1:8480"
CREDENTIALS_FILE = "credentials.json"


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    endpoint: str = DEFAULT_ENDPOINT
    access_key: str = ""
    secret_key: str = ""

    def __repr__(self) -> str:
        # Never the secret: this object ends up in logs and tracebacks.
        return f"Credentials(endpoint={self.endpoint!r}, access_key={self.access_key!r})"

    @property
    def complete(self) -> bool:
        return bool(self.endpoint and self.access_key and self.secret_key)


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if explicit := env.get("BERTH_CONFIG_DIR"):
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "berth"


def credentials_path(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / CREDENTIALS_FILE


def read_credentials_file(path: Path) -> Credentials | None:
    """The stored credentials, or ``None`` when there is no file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(0, "config-unreadable", f"cannot read {path}: {exc}") from None
    try:
        return msgspec.json.decode(raw, type=Credentials)
    except msgspec.DecodeError as exc:
        raise ConfigurationError(
            0, "config-unreadable", f"{path} is not a credentials file: {exc}"
        ) from None


def load_credentials(environ: Mapping[str, str] | None = None) -> Credentials:
    """The credentials in force: the environment's, completed from the file.

    Missing keys are not an error here (the health check needs none); a client
    that must sign checks :attr:`Credentials.complete`.
    """
    env = os.environ if environ is None else environ
    stored = read_credentials_file(credentials_path(env)) or Credentials()
    return Credentials(
        endpoint=env.get("BERTH_ENDPOINT") or stored.endpoint or DEFAULT_ENDPOINT,
        access_key=env.get("BERTH_ACCESS_KEY") or stored.access_key,
        secret_key=env.get("BERTH_SECRET_KEY") or stored.secret_key,
    )


def save_credentials(credentials: Credentials, environ: Mapping[str, str] | None = None) -> Path:
    """Write the credentials file atomically, readable by its owner only; returns its path."""
    path = credentials_path(environ)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written under a temporary name created 0600 from the start (never briefly
    # readable by others), then renamed over the old file in one step.
    fd, partial = tempfile.mkstemp(prefix=f".{CREDENTIALS_FILE}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(msgspec.json.format(msgspec.json.encode(credentials)) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    return path


def delete_credentials(environ: Mapping[str, str] | None = None) -> Path | None:
    """Remove the credentials file; its path, or ``None`` when there was none."""
    path = credentials_path(environ)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path
