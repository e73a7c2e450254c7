"""What a refusal or a failure looks like to a program: one exception family, typed by kind.

The gateway answers every refusal with an HTTP status and
``{"error": {"code": "...", "message": "..."}}``. :func:`error_from_response`
turns that into the matching :class:`BerthError` subclass, keeping the
machine-readable ``code`` (which includes the manager's own refusal codes) and
the human ``message``. Failures that never reached an answer (no connection, a
timeout) are :class:`ConnectionFailed`, and missing credentials are
:class:`ConfigurationError`; both carry status 0.
"""

from __future__ import annotations

import msgspec


class BerthError(Exception):
    """A request Berth refused or could not answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        #: the HTTP status, or 0 when no answer came
        self.status = status
        #: machine-readable, e.g. ``not-found``, ``bad-signature``, ``quota-exceeded``
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, {self.message!r})"


class InvalidRequest(BerthError):
    """400, 413 or 422: the request itself is wrong (malformed, too large, invalid)."""


class AuthenticationError(BerthError):
    """401: the caller is not known (bad, expired or replayed signature; unknown key)."""


class PermissionDenied(BerthError):
    """403: the caller is known but may not do this."""


class NotFound(BerthError):
    """404: no such session, user, key…"""


class Conflict(BerthError):
    """409: the request collides with what exists (a name taken, a state that forbids it)."""


class Unavailable(BerthError):
    """503 (or 502/504): the gateway is up but the manager or an agent did not answer."""


class ConnectionFailed(Unavailable):
    """No answer from the gateway at all: refused connection, unknown host, timeout."""


class ConfigurationError(BerthError):
    """The client cannot be set up: no endpoint or credentials, an unreadable config file."""


_BY_STATUS: dict[int, type[BerthError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    422: InvalidRequest,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}

#: when a body carries no code of its own (a proxy's error page, say)
_DEFAULT_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "too-large",
    422: "invalid",
    502: "unavailable",
    503: "unavailable",
    504: "unavailable",
}


class _ErrorDetail(msgspec.Struct):
    code: str = ""
    message: str = ""


class _ErrorBody(msgspec.Struct):
    error: _ErrorDetail


def error_from_response(status: int, body: bytes, reason: str = "") -> BerthError:
    """The exception for an HTTP answer with an error status."""
    code, message = "", ""
    try:
        detail = msgspec.json.decode(body, type=_ErrorBody).error
        code, message = detail.code, detail.message
    except msgspec.DecodeError:
        # Not Berth's error model: something in between answered. Its text is still
        # the best explanation there is, if it is short enough to show.
        text = body.decode("utf-8", "replace").strip()
        message = text if 0 < len(text) <= 200 else ""
    code = code or _DEFAULT_CODES.get(status, "http-error")
    message = message or f"HTTP {status} {reason}".strip()
    kind = _BY_STATUS.get(status, BerthError)
    return kind(status, code, message)
