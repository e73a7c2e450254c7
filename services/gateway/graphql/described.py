"""``strawberry.field``, ``mutation`` and ``subscription`` with a description, typed.

Given arguments, strawberry's decorators are typed as returning ``Any``; these
take the resolver directly, which keeps resolvers typed under ``mypy --strict``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types.field import StrawberryField

Resolver = Callable[..., Any]


def field(description: str) -> Callable[[Resolver], StrawberryField]:
    def wrap(resolver: Resolver) -> StrawberryField:
        return strawberry.field(resolver, description=description)

    return wrap


def mutation(description: str) -> Callable[[Resolver], StrawberryField]:
    def wrap(resolver: Resolver) -> StrawberryField:
        return strawberry.mutation(resolver, description=description)

    return wrap


def subscription(description: str) -> Callable[[Resolver], StrawberryField]:
    def wrap(resolver: Resolver) -> StrawberryField:
        return strawberry.subscription(resolver, description=description)

    return wrap
