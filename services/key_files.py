"""Secret key files: made once, atomically, readable by their owner alone.

The manager (sealing keypair secrets) and the gateway (signing tokens) each keep
a random key in the data directory, base64 on one line. The first process to
start writes it; one starting beside it reads the same file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat
from pathlib import Path


class KeyFileError(Exception):
    """A key that cannot be used: not base64, the wrong size, or readable by others."""


def decode_key(encoded: str, where: str, size: int) -> bytes:
    """``size`` bytes from base64 text; ``where`` names the source in the error."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{where} is not valid base64") from None
    if len(key) != size:
        raise KeyFileError(f"{where} must hold {size} bytes, not {len(key)}")
    return key


def load_key_file(path: Path, size: int) -> bytes:
    """The key in ``path``, creating it (0600, written atomically) when missing."""
    if not path.exists():
        _create(path, size)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} is accessible by other users (mode {stat.S_IMODE(mode):o}); make it 0600"
        )
    return decode_key(path.read_text(), str(path), size)


def _create(path: Path, size: int) -> None:
    """Write a new key so that no reader ever sees a partial file or a loose mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(secrets.token_bytes(size)).decode() + "\n")
            out.flush()
            os.fsync(out.fileno())
        # link() fails when the file exists: a process starting beside us won.
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)
