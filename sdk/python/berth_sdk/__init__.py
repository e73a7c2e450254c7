"""Berth's Python SDK: a signed, typed client for Berth's REST API, async and blocking.

::

    from berth_sdk import Client, SessionSpec

    with Client() as berth:  # BERTH_ENDPOINT/BERTH_ACCESS_KEY/BERTH_SECRET_KEY or `berth login`
        print(berth.whoami().username)
"""

from berth_sdk._version import __version__
from berth_sdk.client import AsyncClient
from berth_sdk.config import Credentials, load_credentials
from berth_sdk.errors import (
    AuthenticationError,
    BerthError,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from berth_sdk.models import (
    TERMINAL_STATUSES,
    Agent,
    CommandDone,
    Domain,
    ExecResult,
    Image,
    KernelUsage,
    Keypair,
    LogChunk,
    Mount,
    Page,
    Policy,
    PolicyLimits,
    Project,
    ResourceGroup,
    ResourceGroupSpec,
    Session,
    SessionAccepted,
    SessionSpec,
    SessionStatus,
    StatusChange,
    Token,
    User,
    UserChanged,
    WhoAmI,
)
from berth_sdk.plans import WaitTimeout
from berth_sdk.sync_client import Client

__all__ = [
    "TERMINAL_STATUSES",
    "Agent",
    "AsyncClient",
    "AuthenticationError",
    "BerthError",
    "Client",
    "CommandDone",
    "ConfigurationError",
    "Conflict",
    "ConnectionFailed",
    "Credentials",
    "Domain",
    "ExecResult",
    "Image",
    "InvalidRequest",
    "KernelUsage",
    "Keypair",
    "LogChunk",
    "Mount",
    "NotFound",
    "Page",
    "PermissionDenied",
    "Policy",
    "PolicyLimits",
    "Project",
    "ResourceGroup",
    "ResourceGroupSpec",
    "Session",
    "SessionAccepted",
    "SessionSpec",
    "SessionStatus",
    "StatusChange",
    "Token",
    "Unavailable",
    "User",
    "UserChanged",
    "WaitTimeout",
    "WhoAmI",
    "__version__",
    "load_credentials",
]
