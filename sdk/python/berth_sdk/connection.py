"""What both clients share about talking to the gateway: where, as whom, and what failures mean."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import msgspec

from berth_sdk._version import __version__
from berth_sdk.calls import Call, check
from berth_sdk.config import Credentials, load_credentials
from berth_sdk.errors import BerthError, ConfigurationError, ConnectionFailed
from berth_sdk.signing import BearerAuth, KeypairAuth

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
USER_AGENT = f"berth-sdk/{__version__}"

#: calls that need no credentials
_UNSIGNED_PATHS = frozenset({"/v1/health"})


@dataclass(frozen=True)
class Connection:
    """The gateway's address and the auth every signed request uses (``None``: no keys)."""

    endpoint: str
    auth: httpx.Auth | None
    access_key: str = ""

    @classmethod
    def resolve(
        cls,
        endpoint: str | None,
        access_key: str | None,
        secret_key: str | None,
        token: str | None,
    ) -> Connection:
        """What is given, completed from the environment and the credentials file."""
        needed = (endpoint,) if token is not None else (endpoint, access_key, secret_key)
        stored = load_credentials() if None in needed else Credentials()
        url = (endpoint or stored.endpoint).rstrip("/")
        if token is not None:
            return cls(url, BearerAuth(token))
        key = stored.access_key if access_key is None else access_key
        secret = stored.secret_key if secret_key is None else secret_key
        if key and secret:
            return cls(url, KeypairAuth(key, secret), key)
        return cls(url, None)

    def auth_for(self, call: Call[object]) -> httpx.Auth:
        if call.path in _UNSIGNED_PATHS:
            return httpx.Auth()  # the base class sends the request as it is
        if self.auth is None:
            raise ConfigurationError(
                0,
                "no-credentials",
                "no credentials: run `berth login`, or set BERTH_ACCESS_KEY and BERTH_SECRET_KEY",
            )
        return self.auth

    def unreachable(self, exc: httpx.TransportError) -> ConnectionFailed:
        if isinstance(exc, httpx.TimeoutException):
            return ConnectionFailed(0, "timeout", f"no answer from {self.endpoint} in time")
        detail = str(exc) or type(exc).__name__
        return ConnectionFailed(0, "unreachable", f"cannot reach {self.endpoint}: {detail}")


def parsed(call: Call[T], response: httpx.Response) -> T:
    """The call's result from a read response, or the error it stands for."""
    check(response)
    return decoded(call.parse, response)


def decoded(parse: Callable[[httpx.Response], T], response: httpx.Response) -> T:
    try:
        return parse(response)
    except (msgspec.DecodeError, ValueError, AttributeError) as exc:
        raise BerthError(
            response.status_code,
            "bad-response",
            f"unexpected answer to {response.request.method} {response.request.url.path}: {exc}",
        ) from None


#: headers every request carries
HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}
