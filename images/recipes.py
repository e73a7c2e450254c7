"""Berth's images, and the order they are built in."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from images import base, small
from images.recipe import BuildContext, Recipe

PYTHON_DIR = Path(__file__).resolve().parent / "python"


def _build_python(ctx: BuildContext, reference: str) -> None:
    ctx.say("podman build images/python/Containerfile (apt-get install, a minute or two)")
    ctx.podman.build(PYTHON_DIR / "Containerfile", PYTHON_DIR, reference, no_cache=ctx.no_cache)


PYTHON = Recipe(
    name="berth-python",
    summary="Python 3 with NumPy, SciPy, pandas (Debian packages)",
    requires=("berth-base",),
    build=_build_python,
)

# In dependency order: an image comes after those it is built from.
RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (small.RECIPE, base.RECIPE, PYTHON)}


class UnknownImage(ValueError):
    def __init__(self, name: str) -> None:
        known = ", ".join(RECIPES)
        super().__init__(f"no recipe for image {name!r} (known: {known})")
        self.name = name


def recipe_named(name: str) -> Recipe:
    """``berth-python`` or just ``python``."""
    full = name if name.startswith("berth-") else f"berth-{name}"
    try:
        return RECIPES[full]
    except KeyError:
        raise UnknownImage(name) from None


def build_order(names: Iterable[str]) -> list[Recipe]:
    """The recipes for these images and those they are built from, dependencies first; all of
    them when no name is given."""
    wanted: set[str] = set()

    def want(recipe: Recipe) -> None:
        if recipe.name not in wanted:
            wanted.add(recipe.name)
            for required in recipe.requires:
                want(RECIPES[required])

    chosen = list(names)
    for name in chosen:
        want(recipe_named(name))
    if not chosen:
        wanted.update(RECIPES)
    return [recipe for name, recipe in RECIPES.items() if name in wanted]
