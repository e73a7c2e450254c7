"""The manager's key: keypair secrets are stored sealed, never in clear.

The event log is exported and streamed to every consumer, so a keypair's secret
key goes into :class:`~events.tenant.KeypairIssued` encrypted with AES-GCM under
a key only the manager holds. The ciphertext is bound to its access key (as
associated data), so a sealed secret copied onto another keypair does not open.

The key is 32 random bytes, given base64-encoded in ``BERTH_SECRET_KEY`` (for
deployments with a secret store) or kept in ``<data_dir>/manager.key``, created
with mode 0600 on first use. Losing it makes every issued secret unrecoverable;
keypairs then have to be issued again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from events.tenant import SealedSecret
from services.key_files import KeyFileError, decode_key, load_key_file

KEY_ENV = "BERTH_SECRET_KEY"
KEY_FILE = "manager.key"
KEY_BYTES = 32
ACCESS_KEY_PREFIX = "AK"
ACCESS_KEY_LENGTH = 20


class ManagerKeyError(KeyFileError):
    """The manager's key is missing, malformed or readable by others."""


class UnsealError(Exception):
    """A sealed secret that this key cannot open (another key, another keypair, tampered)."""


def _subkey(key: bytes, purpose: bytes) -> bytes:
    # One key per purpose: the sealing key and the access-key key never meet.
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(key)


class ManagerKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ManagerKeyError(f"the manager key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(_subkey(key, b"berth keypair secret v1"))
        self._access_key_mac = _subkey(key, b"berth access key v1")
        #: a fingerprint recorded with each sealed secret, naming the key without revealing it
        self.key_id = hashlib.sha256(_subkey(key, b"berth key id v1")).hexdigest()[:16]

    @classmethod
    def generate(cls) -> ManagerKey:
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def load(cls, data_dir: Path, encoded: str | None = None) -> ManagerKey:
        """The key given as ``encoded`` (base64), else the data directory's key file."""
        if encoded:
            try:
                return cls(decode_key(encoded, KEY_ENV, KEY_BYTES))
            except KeyFileError as exc:
                raise ManagerKeyError(str(exc)) from None
        try:
            return cls(load_key_file(data_dir / KEY_FILE, KEY_BYTES))
        except KeyFileError as exc:
            raise ManagerKeyError(str(exc)) from None

    @classmethod
    def from_env(cls, data_dir: Path) -> ManagerKey:
        return cls.load(data_dir, os.environ.get(KEY_ENV))

    def seal(self, secret: str, *, access_key: str) -> SealedSecret:
        nonce = os.urandom(12)
        ciphertext = self._aead.encrypt(nonce, secret.encode(), access_key.encode())
        return SealedSecret(key_id=self.key_id, nonce=nonce, ciphertext=ciphertext)

    def unseal(self, sealed: SealedSecret, *, access_key: str) -> str:
        """The secret key in clear, for verifying a request's signature."""
        if sealed.key_id != self.key_id:
            raise UnsealError(f"sealed by key {sealed.key_id}, this is {self.key_id}")
        try:
            return self._aead.decrypt(sealed.nonce, sealed.ciphertext, access_key.encode()).decode()
        except InvalidTag:
            raise UnsealError(f"the secret of {access_key} does not open") from None

    def access_key_for(self, user_id: UUID, request_id: str) -> str:
        """``AK`` and 18 uppercase letters and digits, derived from the issuing request.

        Deterministic, so a repeated issue request finds the keypair it already
        made; keyed, so nobody can tell an access key from a request id.
        """
        digest = hmac.digest(
            self._access_key_mac, f"{user_id}\x00{request_id}".encode(), hashlib.sha256
        )
        body = base64.b32encode(digest).decode()
        return ACCESS_KEY_PREFIX + body[: ACCESS_KEY_LENGTH - len(ACCESS_KEY_PREFIX)]
