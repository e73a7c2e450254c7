"""Who may see what through GraphQL: the same rules as the REST API.

Users see their own sessions (those of any of their keypairs) and, read-only, the
sessions of the projects they belong to; domain admins see their domain;
superadmins see everything. What a caller may *do* is the manager's to decide
(it checks the actor of every command), so the gateway never decides that alone.

The raw event tail is the log itself, which also carries other tenants'
events: only superadmins may follow all of it; anyone else follows one session
they may see, by its id.
"""

from __future__ import annotations

from typing import Any

from projections.queries import Visibility
from services.gateway.errors import ApiError, forbidden
from services.gateway.state import Principal


def may_see(visibility: Visibility, *, user_id: str, domain: str, project: str) -> bool:
    if visibility.is_superadmin:
        return True
    if visibility.role == "domain_admin":
        return domain == visibility.domain
    return user_id == visibility.user_id or (
        domain == visibility.domain and project in visibility.projects
    )


def visible_sql(visibility: Visibility, alias: str) -> tuple[str, list[Any]]:
    """The SQL condition :func:`may_see` is, over ``alias``'s owner columns."""
    if visibility.is_superadmin:
        return "1 = 1", []
    if visibility.role == "domain_admin":
        return f"{alias}.domain = ?", [visibility.domain]
    if not visibility.projects:
        return f"{alias}.user_id = ?", [visibility.user_id]
    marks = ", ".join("?" * len(visibility.projects))
    return (
        f"({alias}.user_id = ? OR ({alias}.domain = ? AND {alias}.project IN ({marks})))",
        [visibility.user_id, visibility.domain, *visibility.projects],
    )


def tail_scope(principal: Principal, aggregate_id: str | None, kind: str | None) -> ApiError | None:
    """Why ``principal`` may not tail with these filters (None: they may)."""
    if principal.is_superadmin:
        return None
    if aggregate_id is None or kind not in (None, "session"):
        return forbidden("only a superadmin may tail every event; name one session by its id")
    return None
