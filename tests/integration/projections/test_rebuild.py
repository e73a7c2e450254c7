"""Rebuilding a read model from zero gives the tables it had, and the runner carries on after it."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client as NATS

from projections.base import Projection
from projections.read_store import open_read_store
from projections.rebuild import rebuild_read_model
from projections.registry import (
    GROUP,
    UnknownProjection,
    create_all,
    create_projection,
    projection_names,
)
from projections.runner import ProjectionRunner
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from tests.integration.projections.backbone import Backbone, dump_model, query
from tests.integration.projections.test_runner import run_until


async def test_rebuilding_from_zero_gives_identical_tables(
    backbone: Backbone, nc: NATS, read_settings: ReadStoreSettings
) -> None:
    last = await backbone.relay_sessions(800, cancel_every=3)
    await run_until(read_settings, nc, last)
    before = dump_model(read_settings, SessionView())
    assert len(before["session_view"]) == 800

    assert await rebuild_read_model("sessions", nc, read_settings) == last
    assert dump_model(read_settings, SessionView()) == before

    # The runner started after a rebuild goes on from where the rebuild ended.
    final = await backbone.relay_sessions(100)
    after = await run_until(read_settings, nc, final)
    assert after.applied == final - last
    assert len(query(read_settings, "SELECT id FROM session_view")) == 900


async def rebuild_beside_live(
    backbone: Backbone,
    nc: NATS,
    read_settings: ReadStoreSettings,
    models: list[Projection],
    *,
    before: int,
    during: int,
) -> int:
    """Run ``models`` live; rebuild ``sessions`` while ``during`` more sessions come in.

    Returns the last notification, which the live runner holds when this returns.
    """
    await backbone.relay_sessions(before, cancel_every=3)
    store = open_read_store(read_settings)
    name = GROUP if len(models) > 1 else None
    live = ProjectionRunner(models, store, nc, name=name, batch_size=100)
    stop = asyncio.Event()
    task = asyncio.create_task(live.run(stop))
    try:
        await live.wait_for(200, timeout=30)
        rebuild = asyncio.create_task(rebuild_read_model("sessions", nc, read_settings))
        backbone.request_sessions(during, cancel_every=4)  # and events keep coming meanwhile
        await asyncio.wait_for(rebuild, timeout=60)
        last = await backbone.relayed()
        await live.wait_for(last, timeout=60)
    finally:
        stop.set()
        await task
        store.close()
    return last


async def test_a_rebuild_beside_a_live_runner_ends_with_the_same_tables(
    backbone: Backbone,
    nc: NATS,
    read_settings: ReadStoreSettings,
    reference_settings: ReadStoreSettings,
) -> None:
    last = await rebuild_beside_live(
        backbone, nc, read_settings, [SessionView()], before=600, during=300
    )

    rebuilt = dump_model(read_settings, SessionView())
    assert len(rebuilt["session_view"]) == 900
    assert await rebuild_read_model("sessions", nc, reference_settings) == last
    assert dump_model(reference_settings, SessionView()) == rebuilt


async def test_a_rebuild_beside_the_live_group_leaves_every_model_as_built_from_zero(
    backbone: Backbone,
    nc: NATS,
    read_settings: ReadStoreSettings,
    reference_settings: ReadStoreSettings,
) -> None:
    """The group's runner re-reads from the rebuilt model's position; the others skip."""
    last = await rebuild_beside_live(
        backbone, nc, read_settings, create_all(), before=400, during=200
    )

    for name in projection_names():
        assert await rebuild_read_model(name, nc, reference_settings) == last
        model = create_projection(name)
        assert dump_model(reference_settings, model) == dump_model(read_settings, model), name


async def test_rebuilding_an_empty_stream_gives_empty_tables(
    nc: NATS, read_settings: ReadStoreSettings
) -> None:
    assert await rebuild_read_model("sessions", nc, read_settings) == 0
    assert dump_model(read_settings, SessionView()) == {
        "session_view": [],
        "session_kernel": [],
    }


async def test_an_unknown_read_model_is_refused_by_name(
    nc: NATS, reference_settings: ReadStoreSettings
) -> None:
    with pytest.raises(UnknownProjection, match="sessions"):
        await rebuild_read_model("no-such-model", nc, reference_settings)
