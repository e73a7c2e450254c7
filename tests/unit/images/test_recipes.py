"""Which images a build makes, and in what order."""

from __future__ import annotations

import pytest

from images.labels import ImageLabels
from images.names import container_image_ref
from images.recipe import Recipe
from images.recipes import PYTHON_DIR, RECIPES, UnknownImage, build_order, recipe_named


def names(order: list[Recipe]) -> list[str]:
    return [recipe.name for recipe in order]


def test_every_image_is_built_when_none_is_named() -> None:
    assert names(build_order([])) == ["berth-small", "berth-base", "berth-python"]


def test_an_image_brings_the_images_it_is_built_from_first() -> None:
    assert names(build_order(["python"])) == ["berth-base", "berth-python"]
    assert names(build_order(["berth-python", "small"])) == [
        "berth-small",
        "berth-base",
        "berth-python",
    ]


def test_a_name_given_twice_is_built_once() -> None:
    assert names(build_order(["small", "berth-small"])) == ["berth-small"]


def test_an_unknown_image_names_the_known_ones() -> None:
    with pytest.raises(UnknownImage, match="berth-small, berth-base, berth-python"):
        recipe_named("cobol")


def test_recipes_come_after_what_they_require() -> None:
    order = list(RECIPES)
    for recipe in RECIPES.values():
        for required in recipe.requires:
            assert order.index(required) < order.index(recipe.name)


def test_the_python_containerfile_starts_from_the_image_it_requires() -> None:
    containerfile = (PYTHON_DIR / "Containerfile").read_text()
    froms = [line.split()[1] for line in containerfile.splitlines() if line.startswith("FROM ")]

    assert froms == [container_image_ref(name) for name in RECIPES["berth-python"].requires]


def test_the_python_containerfile_sets_every_berth_label() -> None:
    # Labels not set would be inherited from berth-base, which says kind "base".
    containerfile = (PYTHON_DIR / "Containerfile").read_text()

    for label in ImageLabels(kind="any").to_labels():
        assert f"{label}=" in containerfile
