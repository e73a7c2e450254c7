"""Agents kept in order of their room, so that choosing one is a bisect rather than a scan.

An agent's *room* for a set of slot kinds K is

    min over k in K of available[k] / capacity[k]        (0 where the agent has none of k)

the fraction of the agent that is still free in its scarcest requested resource. Dividing by the
agent's own capacity puts cores, bytes and devices on one scale, and it does not change when other
agents join or leave, so an agent's key only moves when its own allocation or capacity does.

The ordering uses floats, which is safe because it only ranks candidates and prunes: whether a
kernel fits is always decided on exact amounts by the caller. Pruning stays sound because float
conversion and division are monotonic: if an agent fits a request, then for every requested k
``available[k] >= request[k]`` and ``capacity[k] <= max_capacity[k]``, hence its room is at least
``min over k of request[k] / max_capacity[k]``, in floats as in exact arithmetic. Agents below
that bound cannot fit and are skipped.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping


class RoomIndex:
    """The schedulable agents of one architecture, ordered by room for one set of slot kinds.

    Agents are known by their sequence number (the order in which they joined the pool), which
    also breaks ties between equal rooms: within equal room, lower sequence numbers come first.
    """

    __slots__ = ("_key_of", "_keys", "kinds")

    def __init__(self, kinds: frozenset[str]) -> None:
        self.kinds = tuple(sorted(kinds))
        self._keys: list[tuple[float, int]] = []
        self._key_of: dict[int, tuple[float, int]] = {}

    def room(self, available: Mapping[str, float], capacity: Mapping[str, float]) -> float:
        if not self.kinds:
            return 1.0
        room = math.inf
        for name in self.kinds:
            whole = capacity.get(name, 0.0)
            share = available.get(name, 0.0) / whole if whole > 0 else 0.0
            if share < room:
                room = share
        return room

    def build(self, rooms: Mapping[int, float]) -> None:
        self._key_of = {seq: (room, seq) for seq, room in rooms.items()}
        self._keys = sorted(self._key_of.values())

    def put(self, seq: int, room: float) -> None:
        old = self._key_of.get(seq)
        if old is not None:
            if old[0] == room:
                return
            del self._keys[bisect_left(self._keys, old)]
        key = (room, seq)
        self._key_of[seq] = key
        insort(self._keys, key)

    def discard(self, seq: int) -> None:
        old = self._key_of.pop(seq, None)
        if old is not None:
            del self._keys[bisect_left(self._keys, old)]

    def room_of(self, seq: int) -> float | None:
        key = self._key_of.get(seq)
        return None if key is None else key[0]

    def __len__(self) -> int:
        return len(self._keys)

    def ascending(self, bound: float) -> Iterator[int]:
        """Agents with room >= bound, least room first."""
        keys = self._keys
        for position in range(bisect_left(keys, (bound, -1)), len(keys)):
            yield keys[position][1]

    def descending(self, bound: float) -> Iterator[int]:
        """Agents with room >= bound, most room first (lower sequence first within equal room)."""
        keys = self._keys
        end = len(keys)
        while end > 0:
            room = keys[end - 1][0]
            if room < bound:
                return
            start = bisect_left(keys, (room, -1))
            for position in range(start, end):
                yield keys[position][1]
            end = start

    def run_after(self, seq: int) -> Iterator[int]:
        """The agents with exactly the same room as ``seq`` and a higher sequence number."""
        keys = self._keys
        room = self._key_of[seq][0]
        position = bisect_left(keys, (room, seq)) + 1
        while position < len(keys) and keys[position][0] == room:
            yield keys[position][1]
            position += 1

    def count_run_after(self, seq: int) -> int:
        room = self._key_of[seq][0]
        return (
            bisect_left(self._keys, (room, sys.maxsize)) - bisect_left(self._keys, (room, seq)) - 1
        )
