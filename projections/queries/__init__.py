"""Read-side queries over the read models, shared by the REST API and GraphQL.

Plain functions over a :class:`Reader` (any open read-model connection or
transaction). Lists take filters, a ``limit`` and an opaque ``cursor`` (from the
previous page's ``next_cursor``) and return a :class:`Page`; an unreadable
cursor raises :class:`InvalidCursor`. What a caller may see is passed as a
:class:`Visibility`: users see their own sessions and read those of their
projects, domain admins everything of their domain, superadmins everything.
"""

from projections.queries.base import (
    InvalidCursor,
    Page,
    Reader,
    Visibility,
    decode_cursor,
    encode_cursor,
)
from projections.queries.cluster import (
    AgentRow,
    ImageRow,
    ResourceGroupRow,
    get_agent,
    get_resource_group,
    list_agents,
    list_images,
    list_resource_groups,
)
from projections.queries.sessions import (
    KernelRow,
    SessionRow,
    StatusChange,
    StatusRow,
    can_control,
    get_session,
    list_sessions,
    session_history,
    status_rows,
)
from projections.queries.tenants import (
    DomainRow,
    KeypairRow,
    PolicyRow,
    ProjectRow,
    UserRow,
    get_policy,
    get_user,
    list_domains,
    list_keypairs,
    list_policies,
    list_projects,
    list_users,
)

__all__ = [
    "AgentRow",
    "DomainRow",
    "ImageRow",
    "InvalidCursor",
    "KernelRow",
    "KeypairRow",
    "Page",
    "PolicyRow",
    "ProjectRow",
    "Reader",
    "ResourceGroupRow",
    "SessionRow",
    "StatusChange",
    "StatusRow",
    "UserRow",
    "Visibility",
    "can_control",
    "decode_cursor",
    "encode_cursor",
    "get_agent",
    "get_policy",
    "get_resource_group",
    "get_session",
    "get_user",
    "list_agents",
    "list_domains",
    "list_images",
    "list_keypairs",
    "list_policies",
    "list_projects",
    "list_resource_groups",
    "list_sessions",
    "list_users",
    "session_history",
    "status_rows",
]
