"""Keypairs asked of the manager once per few seconds, concurrent asks shared."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.auth.keypairs import KeypairCache
from services.gateway.errors import ApiError
from tests.unit.gateway.fakes import FakeManager


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_keypair_is_asked_once_per_ttl() -> None:
    manager, clock = FakeManager(), Clock()
    manager.add_keypair("AK1", "secret", role="domain_admin")
    cache = KeypairCache(manager, ttl=5, clock=clock)
    records = await asyncio.gather(*(cache.get("AK1") for _ in range(10)))
    assert manager.lookups == 1
    principal = records[0].principal
    assert (principal.username, principal.role, principal.projects) == (
        "ada",
        "domain_admin",
        ("default",),
    )
    assert records[0].secret_key == "secret"
    clock.now += 6
    await cache.get("AK1")
    assert manager.lookups == 2


async def test_unknown_and_revoked_keys_are_refused_and_remembered() -> None:
    manager, clock = FakeManager(), Clock()
    manager.add_keypair("AK2", "secret")
    manager.inactive.add("AK2")
    cache = KeypairCache(manager, ttl=5, clock=clock)
    for _ in range(3):
        with pytest.raises(ApiError) as unknown:
            await cache.get("AKX")
        assert (unknown.value.status, unknown.value.code) == (401, "unknown-key")
        with pytest.raises(ApiError) as revoked:
            await cache.get("AK2")
        assert (revoked.value.status, revoked.value.code) == (401, "unauthenticated")
    assert manager.lookups == 2
    cache.forget("AK2")
    manager.inactive.clear()
    assert (await cache.get("AK2")).principal.access_key == "AK2"


async def test_a_silent_manager_is_503_and_not_remembered() -> None:
    manager = FakeManager()
    manager.add_keypair("AK1", "secret")

    async def silent(access_key: str) -> object:
        raise TimeoutError

    cache = KeypairCache(manager, ttl=5)
    real = manager.lookup_keypair
    manager.lookup_keypair = silent  # type: ignore[method-assign,assignment]
    with pytest.raises(ApiError) as refused:
        await cache.get("AK1")
    assert refused.value.status == 503
    manager.lookup_keypair = real  # type: ignore[method-assign]
    assert (await cache.get("AK1")).secret_key == "secret"


async def test_a_full_cache_forgets_the_oldest() -> None:
    manager = FakeManager()
    for n in range(3):
        manager.add_keypair(f"AK{n}", "s")
    cache = KeypairCache(manager, ttl=60, max_entries=2)
    for n in range(3):
        await cache.get(f"AK{n}")
    await cache.get("AK2")
    assert manager.lookups == 3
    await cache.get("AK0")
    assert manager.lookups == 4


async def test_a_caller_that_goes_away_does_not_cancel_the_others_answer() -> None:
    manager = FakeManager()
    manager.add_keypair("AK1", "secret")
    release = asyncio.Event()
    real = manager.lookup_keypair

    async def slow(access_key: str) -> object:
        await release.wait()
        return await real(access_key)

    manager.lookup_keypair = slow  # type: ignore[method-assign,assignment]
    cache = KeypairCache(manager, ttl=5)
    leaver = asyncio.create_task(cache.get("AK1"))
    stayer = asyncio.create_task(cache.get("AK1"))
    await asyncio.sleep(0)
    leaver.cancel()
    release.set()
    assert (await stayer).secret_key == "secret"
    assert leaver.cancelled()
    assert manager.lookups == 1
