"""``berth admin keypair …`` and ``berth admin policy …``: who may sign in, and for how much."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from berth_sdk import Client, CommandDone, PolicyLimits
from rich.text import Text

from cli import arguments
from cli.connect import connected, reported
from cli.output import JsonOption, emit_json, err, out, slots, table

keypair_app = typer.Typer(
    help="Keypairs: the credentials users sign requests with.", no_args_is_help=True
)
policy_app = typer.Typer(
    help="Resource policies: limits assigned to keypairs, users and projects.",
    no_args_is_help=True,
)


@keypair_app.command("ls")
def list_keypairs(as_json: JsonOption = False) -> None:
    """List keypairs (never their secrets)."""
    with reported(), connected() as berth:
        keypairs = berth.list_keypairs()
        if as_json:
            emit_json(keypairs)
            return
        table(
            ["ACCESS KEY", "USERNAME", "POLICY", "ACTIVE"],
            (
                [k.access_key, k.username, k.policy or "-", "yes" if k.active else "no"]
                for k in keypairs
            ),
        )


@keypair_app.command("issue")
def issue_keypair(
    username: Annotated[str, typer.Argument(help="Whose keypair.")],
    policy: Annotated[
        str | None,
        typer.Option(
            help="Resource policy name (default: the policy named default).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a keypair; its secret key is shown this once and never again."""
    with reported(), connected() as berth:
        keypair = berth.issue_keypair(username, policy)
        if as_json:
            emit_json(keypair)
            return
        out.print(f"access key: {keypair.access_key}")
        out.print(f"secret key: {keypair.secret_key or '(not returned)'}")
        err.print(Text("Keep the secret key now: Berth will not show it again.", style="yellow"))


@keypair_app.command("revoke")
def revoke_keypair(
    access_key: Annotated[str, typer.Argument(help="The keypair to revoke.")],
) -> None:
    """Revoke a keypair: requests signed with it are refused from now on."""
    with reported(), connected() as berth:
        berth.revoke_keypair(access_key)
        out.print(f"revoked {access_key}")


def _limits(
    slots_given: list[str] | None,
    max_concurrent: int | None,
    max_pending: int | None,
    pending_slots: list[str] | None,
    lifetime: int | None,
    idle_timeout: int | None,
    groups: list[str] | None,
) -> PolicyLimits:
    return PolicyLimits(
        total_resource_slots=arguments.resources(slots_given or []),
        max_concurrent_sessions=max_concurrent,
        max_pending_sessions=max_pending,
        max_pending_slots=arguments.resources(pending_slots or []),
        max_session_lifetime=lifetime,
        idle_timeout=idle_timeout,
        allowed_resource_groups=groups or [],
    )


SlotsOption = Annotated[
    list[str] | None,
    typer.Option("--slots", help="Most allocated at once, e.g. cpu=8,mem=32g."),
]
ConcurrentOption = Annotated[
    int | None, typer.Option("--max-concurrent", min=0, help="Sessions at once.")
]
PendingOption = Annotated[
    int | None, typer.Option("--max-pending", min=0, help="Sessions waiting at once.")
]
PendingSlotsOption = Annotated[
    list[str] | None, typer.Option("--pending-slots", help="Most waiting in queues at once.")
]
LifetimeOption = Annotated[
    int | None, typer.Option("--max-lifetime", min=0, help="Seconds a session may live.")
]
IdleOption = Annotated[
    int | None, typer.Option("--idle-timeout", min=0, help="Seconds an idle session may live.")
]
GroupsOption = Annotated[
    list[str] | None,
    typer.Option("--group", help="An allowed resource group, repeatable (default: every group)."),
]


@policy_app.command("ls")
def list_policies(as_json: JsonOption = False) -> None:
    """List resource policies and their limits ('-' is unlimited)."""

    def count(value: int | None) -> str:
        return "-" if value is None else str(value)

    with reported(), connected() as berth:
        policies = berth.list_policies()
        if as_json:
            emit_json(policies)
            return
        table(
            ["NAME", "SLOTS", "CONCURRENT", "PENDING", "LIFETIME", "IDLE", "GROUPS"],
            (
                [
                    p.name,
                    slots(p.limits.total_resource_slots),
                    count(p.limits.max_concurrent_sessions),
                    count(p.limits.max_pending_sessions),
                    count(p.limits.max_session_lifetime),
                    count(p.limits.idle_timeout),
                    ", ".join(p.limits.allowed_resource_groups) or "-",
                ]
                for p in policies
            ),
        )


def _policy_command(
    save: Callable[[Client], Callable[[str, PolicyLimits], CommandDone]], done: str, doc: str
) -> Callable[..., None]:
    """``policy create`` and ``policy set``: the same options, a different command sent."""

    def command(
        name: Annotated[str, typer.Argument(help="The policy's name.")],
        slots_given: SlotsOption = None,
        max_concurrent: ConcurrentOption = None,
        max_pending: PendingOption = None,
        pending_slots: PendingSlotsOption = None,
        lifetime: LifetimeOption = None,
        idle_timeout: IdleOption = None,
        groups: GroupsOption = None,
    ) -> None:
        with reported():
            # a malformed slot is reported like any refusal
            given = _limits(
                slots_given,
                max_concurrent,
                max_pending,
                pending_slots,
                lifetime,
                idle_timeout,
                groups,
            )
            with connected() as berth:
                save(berth)(name, given)
            out.print(f"{done} policy {name}")

    command.__doc__ = doc
    return command


policy_app.command("create")(
    _policy_command(
        lambda berth: berth.define_policy,
        "defined",
        "Define a resource policy (a limit left out is unlimited).",
    )
)
policy_app.command("set")(
    _policy_command(
        lambda berth: berth.change_policy,
        "changed",
        "Replace a policy's limits: every limit not given becomes unlimited.",
    )
)
