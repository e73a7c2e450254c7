"""``berth admin …``: tenants (domains, projects, users) here; keys and policies in
:mod:`cli.admin_access`; resource groups in :mod:`cli.cluster`.

The manager checks every one of these against the caller's role (a superadmin
anything, a domain admin within their domain); a refusal exits 3.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.admin_access import keypair_app, policy_app
from cli.cluster import group_app
from cli.connect import UsageError, connected, reported
from cli.output import JsonOption, emit_json, out, table

admin_app = typer.Typer(
    help="Administration: tenants, keys, policies, resource groups.", no_args_is_help=True
)
domain_app = typer.Typer(help="Domains: the tenants.", no_args_is_help=True)
project_app = typer.Typer(
    help="Projects: groups of users that sessions are accounted to.", no_args_is_help=True
)
user_app = typer.Typer(help="Users: people with a role and projects.", no_args_is_help=True)

admin_app.add_typer(domain_app, name="domain")
admin_app.add_typer(project_app, name="project")
admin_app.add_typer(user_app, name="user")
admin_app.add_typer(keypair_app, name="keypair")
admin_app.add_typer(policy_app, name="policy")
admin_app.add_typer(group_app, name="group")

DomainOption = Annotated[
    str | None,
    typer.Option("--domain", "-d", help="The domain it belongs to (default: your own)."),
]
PolicyOption = Annotated[
    str | None,
    typer.Option(
        help="Resource policy name (default: the policy named default).", show_default=False
    ),
]
DescriptionOption = Annotated[str, typer.Option(help="A line about it.")]


@domain_app.command("ls")
def list_domains(as_json: JsonOption = False) -> None:
    """List the domains."""
    with reported(), connected() as berth:
        domains = berth.list_domains()
        if as_json:
            emit_json(domains)
            return
        table(["NAME", "DESCRIPTION"], ([d.name, d.description] for d in domains))


@domain_app.command("create")
def create_domain(
    name: Annotated[str, typer.Argument(help="The new domain's name.")],
    description: DescriptionOption = "",
) -> None:
    """Create a domain (superadmin)."""
    with reported(), connected() as berth:
        berth.create_domain(name, description)
        out.print(f"created domain {name}")


@project_app.command("ls")
def list_projects(as_json: JsonOption = False) -> None:
    """List the projects."""
    with reported(), connected() as berth:
        projects = berth.list_projects()
        if as_json:
            emit_json(projects)
            return
        table(
            ["NAME", "DOMAIN", "POLICY", "DESCRIPTION"],
            ([p.name, p.domain, p.policy or "-", p.description] for p in projects),
        )


@project_app.command("create")
def create_project(
    name: Annotated[str, typer.Argument(help="The new project's name.")],
    domain: DomainOption = None,
    policy: PolicyOption = None,
    description: DescriptionOption = "",
) -> None:
    """Create a project in a domain."""
    with reported(), connected() as berth:
        berth.create_project(name, domain=domain, policy=policy, description=description)
        out.print(f"created project {name}" + (f" in domain {domain}" if domain else ""))


@user_app.command("ls")
def list_users(as_json: JsonOption = False) -> None:
    """List the users."""
    with reported(), connected() as berth:
        users = berth.list_users()
        if as_json:
            emit_json(users)
            return
        table(
            ["USERNAME", "DOMAIN", "ROLE", "POLICY", "PROJECTS", "ACTIVE"],
            (
                [
                    u.username,
                    u.domain,
                    u.role,
                    u.policy or "-",
                    ", ".join(u.projects) or "-",
                    "yes" if u.active else "no",
                ]
                for u in users
            ),
        )


@user_app.command("create")
def create_user(
    username: Annotated[
        str, typer.Argument(help="Unique across Berth; an e-mail address is fine.")
    ],
    domain: DomainOption = None,
    email: Annotated[str, typer.Option(help="Where to reach them.")] = "",
    role: Annotated[
        str | None,
        typer.Option(help="user, domain_admin or superadmin (default: user).", show_default=False),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Create a user (then `berth admin keypair issue USERNAME` gives them a key)."""
    with reported(), connected() as berth:
        berth.create_user(username, domain=domain, email=email, role=role, policy=policy)
        out.print(f"created user {username}" + (f" in domain {domain}" if domain else ""))


@user_app.command("add-project")
def add_user_to_project(
    username: Annotated[str, typer.Argument(help="The user.")],
    project: Annotated[str, typer.Argument(help="A project of the user's domain.")],
) -> None:
    """Make a user a member of a project."""
    with reported(), connected() as berth:
        berth.add_user_to_project(username, project)
        out.print(f"added {username} to project {project}")


@user_app.command("set")
def change_user(
    username: Annotated[str, typer.Argument(help="The user to change.")],
    role: Annotated[str | None, typer.Option(help="user, domain_admin or superadmin.")] = None,
    policy: Annotated[str | None, typer.Option(help="Resource policy name.")] = None,
) -> None:
    """Change a user's role or resource policy."""
    with reported():
        if role is None and policy is None:
            raise UsageError("nothing to change: give --role and/or --policy")
        with connected() as berth:
            changed = berth.change_user(username, role=role, policy=policy)
        what = ", ".join(changed.changed) or "nothing (already so)"
        out.print(f"changed user {username}: {what}")


@user_app.command("deactivate")
def deactivate_user(
    username: Annotated[str, typer.Argument(help="The user to deactivate.")],
) -> None:
    """Deactivate a user: their keys stop working."""
    with reported(), connected() as berth:
        berth.change_user(username, active=False)
        out.print(f"deactivated user {username}")
