"""The API commands' link to the gateway: the SDK client they use, and what its failures mean.

Every command that talks to the gateway runs inside :func:`reported`, which
turns each failure into one ``error:`` line on stderr and an exit status, never
a traceback (``BERTH_DEBUG=1`` shows it):

=====  =====================================================================
2      usage: arguments that cannot mean anything (also Typer's own)
3      authentication: not logged in, a refused key, a forbidden action
4      not found: no such session, user, key…
1      anything else: a refusal, an unreachable gateway, a session that failed
=====  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import typer
from berth_sdk import (
    AuthenticationError,
    BerthError,
    Client,
    ConfigurationError,
    ConnectionFailed,
    Credentials,
    NotFound,
    PermissionDenied,
    WaitTimeout,
)

from cli.failures import reported_as, say_error

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4

#: how the commands get their client; tests put a fake here
ClientFactory = Callable[[Credentials | None], Client]


class UsageError(Exception):
    """Arguments the command cannot use; reported with exit status 2."""


def _sdk_client(credentials: Credentials | None) -> Client:
    if credentials is None:
        return Client()  # the environment, then the file `berth login` wrote
    return Client(
        credentials.endpoint,
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
    )


make_client: ClientFactory = _sdk_client


@contextmanager
def connected(credentials: Credentials | None = None) -> Iterator[Client]:
    """A client for the command, closed when it is done."""
    client = make_client(credentials)
    try:
        yield client
    finally:
        client.close()


def _hint(exc: BerthError) -> str:
    if isinstance(exc, AuthenticationError) and exc.code in {"unknown-key", "unauthenticated"}:
        return " (run `berth login`)"
    if isinstance(exc, ConnectionFailed):
        return " (is the gateway running? `berth login --endpoint URL` points elsewhere)"
    return ""


def exit_status(exc: BaseException) -> int:
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError | PermissionDenied | ConfigurationError):
        return EXIT_AUTH
    if isinstance(exc, NotFound):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def fail(message: str, status: int = EXIT_FAILED) -> typer.Exit:
    """Print one ``error:`` line; returns the exit to raise."""
    say_error(message)
    return typer.Exit(status)


def reported() -> AbstractContextManager[None]:
    """Turn every failure into one ``error:`` line and its exit status."""
    return reported_as(_described)


def _described(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, BerthError):
        message = f"{exc.message}{_hint(exc)}"
        if exc.status and exc.code:
            message += f" [{exc.code}]"
    elif isinstance(exc, UsageError | WaitTimeout):
        message = str(exc)
    else:
        message = f"unexpected {type(exc).__name__}: {exc}"
    return message, exit_status(exc)
