"""``berth events …``: audit and replay tooling (tail, history, export, import, rebuild,
parked, verify).

A thin layer: the work is done by :mod:`services.manager.audit`; this module reads
the settings, opens the store and the NATS connection, and prints. Every
failure a user can cause (an unreachable server, a missing store, a bad file)
ends in one readable ``error:`` line and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, aclosing, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.failures import reported_as

events_app = typer.Typer(
    help="Inspect, export, replay and verify the event log.", no_args_is_help=True
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: exit status when the command could not do its work (1 is reserved for "not identical")
FAILED = 2


class CliError(Exception):
    """A failure to report in one line, without a traceback."""


def reported_errors() -> AbstractContextManager[None]:
    """Turn every failure into one ``error:`` line (``BERTH_DEBUG=1`` shows the traceback)."""
    return reported_as(_described)


def _described(exc: Exception) -> tuple[str, int]:
    from eventsourcing.persistence import PersistenceError
    from nats.errors import Error as NatsError

    if isinstance(exc, CliError | ValueError | OSError):
        message = str(exc)
    elif isinstance(exc, PersistenceError):
        message = f"event store: {exc}"
    elif isinstance(exc, NatsError):
        message = f"NATS: {exc}"
    else:
        message = f"unexpected {type(exc).__name__}: {exc}"
    return message or type(exc).__name__, FAILED


@contextmanager
def opened_store(*, must_exist: bool) -> Iterator[Any]:
    """The event store named by ``BERTH_STORE`` and friends (:class:`EventStore`)."""
    from services.manager.settings import StoreSettings
    from services.manager.store import EventStore

    settings = StoreSettings.from_env()
    if settings.backend == "sqlite":
        if must_exist and not settings.sqlite_path.exists():
            raise CliError(
                f"no event store at {settings.sqlite_path} "
                "(set BERTH_SQLITE_PATH or BERTH_DATA_DIR, or BERTH_STORE=postgres)"
            )
    else:
        _check_postgres(settings.pg_dsn)
    store = EventStore(settings)
    try:
        yield store
    finally:
        store.close()


def _check_postgres(dsn: str) -> None:
    """Fail in seconds with the server's own words, not after the pool's long timeout."""
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        raise CliError(f"cannot open the event store at {_without_password(dsn)}: {exc}") from None


def _without_password(dsn: str) -> str:
    """The DSN fit for an error message."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # an unparseable DSN holds nothing we could safely show
        return "the configured BERTH_PG_DSN"
    params.pop("password", None)
    return make_conninfo(**params)  # type: ignore[arg-type]


@asynccontextmanager
async def connected_nats() -> AsyncIterator[Any]:
    """A NATS connection on ``BERTH_NATS_URL``, checked to hold the ``BERTH_EVENTS`` stream."""
    import nats
    from nats.errors import NoServersError
    from nats.js.errors import NotFoundError

    from events.streams import EVENTS_STREAM
    from services.manager.settings import NatsSettings

    url = NatsSettings.from_env().url

    async def quiet(_exc: Exception) -> None:
        """Connection trouble is reported once, by the exception below."""

    try:
        nc = await nats.connect(
            url,
            connect_timeout=3,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=quiet,
        )
    except (NoServersError, OSError, TimeoutError):
        raise CliError(f"cannot reach NATS at {url} (set BERTH_NATS_URL)") from None
    try:
        js = nc.jetstream()
        try:
            await js.stream_info(EVENTS_STREAM)
        except NotFoundError:
            raise CliError(
                f"NATS at {url} has no {EVENTS_STREAM} stream (has the relay ever run there?)"
            ) from None
        yield nc
    finally:
        await nc.close()


def _echo_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _when(timestamp: datetime | None) -> str:
    """An event's time in UTC, to the millisecond."""
    if timestamp is None:
        return "-"
    return timestamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _parse_uuid(value: str, what: str = "aggregate id") -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise CliError(f"{what} {value!r} is not a UUID") from None


JsonOption = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, for scripts.")]


@events_app.command()
def tail(
    kind: Annotated[
        str | None, typer.Option(help="Only this aggregate kind (session, agent…).")
    ] = None,
    aggregate_id: Annotated[str | None, typer.Option("--id", help="Only this aggregate.")] = None,
    event_type: Annotated[
        str | None,
        typer.Option("--type", help="Only this event type (EventName or kind.EventName)."),
    ] = None,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Begin at the first event.")
    ] = False,
    last: Annotated[
        int | None, typer.Option(help="Begin with the last N matching events [10].")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Keep waiting for new events.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Show events from BERTH_EVENTS as they arrive (Ctrl-C stops)."""
    from services.manager.audit.tail import TailEntry, TailFilter
    from services.manager.audit.tail import tail as tail_events

    with reported_errors():
        if from_start and last is not None:
            raise CliError("--from-start and --last exclude each other")
        if last is not None and last < 0:
            raise CliError("--last must not be negative")
        tail_filter = TailFilter(
            kind=kind,
            aggregate_id=_parse_uuid(aggregate_id) if aggregate_id else None,
            event_type=event_type,
        )
        tail_filter.subject()  # refuse bad filters before connecting

        def show(entry: TailEntry) -> None:
            if as_json:
                _echo_json(entry.to_json())
                return
            view = entry.view
            line = Text(f"{entry.seq:>8} ", style="dim")
            line += Text(f"#{entry.notification_id if entry.notification_id else '?':<7} ")
            line += Text(f"{_when(view.timestamp):<23} ", style="dim")
            line += Text(
                f"{view.type_name:<28} ", style="cyan" if view.fields is not None else "red"
            )
            line += Text(f"{entry.aggregate_id or entry.subject} ")
            line += Text(view.summary(100), style="" if view.fields is not None else "red")
            out.print(line)

        async def run() -> None:
            async with connected_nats() as nc:
                entries = tail_events(
                    nc.jetstream(),
                    tail_filter,
                    last=None if from_start else (10 if last is None else last),
                    follow=follow,
                )
                # closed here, while the connection its consumer lives on is still open
                async with aclosing(entries):
                    async for entry in entries:
                        show(entry)

        try:
            asyncio.run(run())
        except KeyboardInterrupt:
            return  # Ctrl-C is how a live tail ends


@events_app.command()
def history(
    aggregate_id: Annotated[str, typer.Argument(help="The aggregate's UUID.")],
    as_json: JsonOption = False,
) -> None:
    """Show one aggregate's events from the event store, version by version."""
    from services.manager.audit.history import aggregate_history

    with reported_errors():
        uuid = _parse_uuid(aggregate_id)
        with opened_store(must_exist=True) as store:
            entries = aggregate_history(store.app_recorder, uuid)
        if not entries:
            err.print(f"no events for aggregate {uuid}")
            raise typer.Exit(1)
        if as_json:
            for entry in entries:
                _echo_json({"aggregate_id": str(uuid), **entry.to_json()})
            return
        kind = entries[0].view.type_name.partition(".")[0]
        table = Table(title=f"{kind} {uuid}", title_justify="left")
        table.add_column("version", justify="right", no_wrap=True)
        table.add_column("time", no_wrap=True)
        table.add_column("type", no_wrap=True)
        table.add_column("fields", overflow="fold", ratio=1)
        for entry in entries:
            view = entry.view
            table.add_row(
                str(entry.version),
                _when(view.timestamp),
                # the kind is in the title; the topic's event name and version suffice here
                Text(
                    view.topic.partition(".")[2], style="cyan" if view.fields is not None else "red"
                ),
                view.summary(400),
            )
        out.print(table)


@events_app.command("export")
def export_command(
    file: Annotated[str, typer.Argument(help="Where to write the JSON Lines ('-' for stdout).")],
    start: Annotated[int, typer.Option("--from", help="First notification id.")] = 1,
    stop: Annotated[int | None, typer.Option("--to", help="Last notification id.")] = None,
) -> None:
    """Export the notification log as JSON Lines, one notification a line."""
    from services.manager.audit.export import export_log

    with reported_errors():
        if start < 1 or (stop is not None and stop < start):
            raise CliError("--from must be at least 1 and --to not below --from")
        with opened_store(must_exist=True) as store:
            if file == "-":
                count = export_log(store.app_recorder, _binary_stdout(), start, stop)
            else:
                # Written beside the target and renamed, so a failed export leaves no half file.
                target = Path(file)
                partial = target.with_name(f".{target.name}.partial")
                try:
                    with partial.open("wb") as sink:
                        count = export_log(store.app_recorder, sink, start, stop)
                    partial.replace(target)
                finally:
                    partial.unlink(missing_ok=True)
        err.print(f"exported {count} events to {'stdout' if file == '-' else file}")


@events_app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(help="An export to replay ('-' for stdin).")],
    ignore_stream: Annotated[
        bool,
        typer.Option(
            "--ignore-stream", help="Import even though BERTH_EVENTS already holds messages."
        ),
    ] = False,
) -> None:
    """Replay an export into a fresh event store (refused if the store holds events).

    The whole file is checked before anything is written. The relay then
    publishes the imported events as usual, which needs an empty BERTH_EVENTS.
    """
    from services.manager.audit.replay import StoreNotEmpty, import_events, read_export

    with reported_errors():
        if file == "-":
            export = read_export(_binary_stdin())
        else:
            with Path(file).open("rb") as source:
                export = read_export(source)
        if not ignore_stream:
            held = asyncio.run(_stream_messages_if_reachable())
            if held:
                raise CliError(
                    f"BERTH_EVENTS already holds {held} messages from another store; the relay "
                    "would not publish the imported events after them (use a fresh stream, "
                    "or --ignore-stream)"
                )
        with opened_store(must_exist=False) as store:
            try:
                result = import_events(store.app_recorder, export)
            except StoreNotEmpty as exc:
                raise CliError(str(exc)) from None
        if result.imported:
            err.print(
                f"imported {result.imported} events as notifications "
                f"{result.first_id} to {result.last_id}"
            )
        else:
            err.print("the export holds no events; nothing imported")
        if result.renumbered:
            err.print(
                "note: the export's notification ids were not 1, 2, 3…; "
                "the events keep their order under consecutive ids"
            )


async def _stream_messages_if_reachable() -> int:
    """How many messages BERTH_EVENTS holds; 0 when NATS or the stream is not there."""
    try:
        async with connected_nats() as nc:
            from services.manager.audit.stream_reader import stream_bounds

            return (await stream_bounds(nc.jetstream())).messages
    except CliError:
        return 0


@events_app.command()
def rebuild(name: Annotated[str, typer.Argument(help="The read model to rebuild.")]) -> None:
    """Rebuild one read model from the whole stream."""
    with reported_errors():
        try:
            from projections.rebuild import rebuild_read_model
            from projections.settings import ReadStoreSettings
        except ImportError as exc:
            raise CliError(f"read models cannot be rebuilt here: {exc}") from None

        async def run() -> int:
            async with connected_nats() as nc:
                result: Any = rebuild_read_model(name, nc, ReadStoreSettings.from_env())
                if inspect.isawaitable(result):
                    result = await result
                return int(result)

        try:
            count = asyncio.run(run())
        except LookupError as exc:  # an unknown name; the message lists the known ones
            raise CliError(str(exc).strip("'\"")) from None
        out.print(f"rebuilt read model {name!r} from {count} events")


@events_app.command()
def parked(
    projection: Annotated[
        str | None, typer.Option("--projection", help="Only this read model's parked events.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.", min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Events a read model could not decode, parked with the reason (the runner went on)."""
    with reported_errors():
        from projections.parking import list_parked
        from projections.read_store import open_read_store
        from projections.settings import ReadStoreSettings

        store = open_read_store(ReadStoreSettings.from_env())
        try:
            found = list_parked(store, projection, limit)
        finally:
            store.close()
        if as_json:
            for event in found:
                _echo_json(
                    {
                        "projection": event.projection,
                        "stream_seq": event.stream_seq,
                        "notification_id": event.notification_id,
                        "subject": event.subject,
                        "topic": event.topic,
                        "reason": event.reason,
                        "detail": event.detail,
                        "parked_at": str(event.parked_at),
                    }
                )
            return
        if not found:
            out.print("no parked events")
            return
        table = Table("projection", "seq", "notification", "topic", "reason", "detail")
        for event in found:
            table.add_row(
                event.projection,
                str(event.stream_seq),
                "" if event.notification_id is None else str(event.notification_id),
                event.topic or "",
                event.reason,
                event.detail,
            )
        out.print(table)


@events_app.command()
def verify(
    allow_lag: Annotated[
        bool,
        typer.Option(help="Pass when the stream is only behind the store (relay catching up)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check that the store and BERTH_EVENTS hold the same events in the same order.

    Exits 0 when they do, 1 when they do not.
    """
    from services.manager.audit.stream_reader import stream_bounds
    from services.manager.audit.verify import VerifyReport
    from services.manager.audit.verify import verify as verify_log

    with reported_errors():

        async def run() -> VerifyReport:
            with opened_store(must_exist=True) as store:
                async with connected_nats() as nc:
                    js = nc.jetstream()
                    stream_last = (await stream_bounds(js)).last_seq
                    store_last = await asyncio.to_thread(store.max_notification_id)
                    return await verify_log(
                        store.app_recorder, js, store_last, stream_last_seq=stream_last
                    )

        report = asyncio.run(run())
        passed = report.passed(allow_lag)
        if as_json:
            _echo_json(
                {
                    "passed": passed,
                    "identical": report.identical,
                    "problems": report.problems,
                    **{k: v for k, v in vars(report).items() if k != "mismatches"},
                    "mismatches": [vars(m) for m in report.mismatches],
                }
            )
        else:
            _print_report(report, passed)
        raise typer.Exit(0 if passed else 1)


def _print_report(report: Any, passed: bool) -> None:
    out.print(f"store:  {report.store_count} events (last notification {report.store_last_id})")
    out.print(f"stream: {report.stream_count} messages (last notification {report.stream_last_id})")
    out.print(
        f"matched {report.matched}, missing {report.missing}, extra {report.extra}, "
        f"out of order {report.out_of_order}, different {report.different}; "
        f"the stream lags the store by {report.lag} events"
    )
    for mismatch in report.mismatches:
        out.print(Text(f"  {mismatch.kind}: ", style="red") + Text(mismatch.detail))
    if report.problems > len(report.mismatches):
        out.print(f"  … and {report.problems - len(report.mismatches)} more")
    if report.identical:
        out.print(
            Text(
                "OK: the store and the stream hold the same events in the same order", style="green"
            )
        )
    elif passed:
        out.print(Text("OK so far: the stream is a prefix of the store", style="yellow"))
    else:
        out.print(Text("MISMATCH: the store and the stream differ", style="bold red"))


def _binary_stdout() -> BinaryIO:
    return typer.get_binary_stream("stdout")


def _binary_stdin() -> BinaryIO:
    return typer.get_binary_stream("stdin")
