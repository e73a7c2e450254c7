"""The build: dependency order, skipping what exists, --force, and what it says."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from images.build import build_images
from images.errors import BuildError
from images.labels import LABEL_KIND
from images.podman_cli import PodmanCli
from images.recipe import BuildContext
from images.recipes import RECIPES


class FakePodman(PodmanCli):
    """Podman's image store as a dict: reference → (id, labels)."""

    def __init__(self) -> None:
        super().__init__("podman")
        self.images: dict[str, tuple[str, dict[str, str]]] = {}
        self.in_use: set[str] = set()
        self.removed: list[str] = []
        self.built: list[str] = []
        self._next = 0

    def check_installed(self) -> None:
        pass

    def add(self, reference: str, labels: Mapping[str, str]) -> str:
        self._next += 1
        image_id = f"{self._next:064x}"
        self.images[reference] = (image_id, dict(labels))
        return image_id

    def image_id(self, reference: str) -> str | None:
        found = self.images.get(reference)
        return found[0] if found else None

    def inspect(self, reference: str) -> dict[str, Any]:
        image_id, labels = self.images[reference]
        return {"Id": image_id, "Labels": labels, "Size": 1_000_000}

    def remove_if_unused(self, image_id: str) -> bool:
        if image_id in self.in_use:
            return False
        self.removed.append(image_id)
        return True


@pytest.fixture
def podman(monkeypatch: pytest.MonkeyPatch) -> FakePodman:
    """Every recipe, its build replaced by one that records it and adds a labelled image."""
    fake = FakePodman()
    for name, recipe in list(RECIPES.items()):

        def build(ctx: BuildContext, reference: str, name: str = name) -> None:
            fake.built.append(name)
            fake.add(reference, {LABEL_KIND: "test"})

        monkeypatch.setitem(RECIPES, name, dataclasses.replace(recipe, build=build))
    return fake


def test_an_image_is_built_after_the_images_it_needs(podman: FakePodman) -> None:
    lines: list[str] = []

    results = build_images(["python"], podman=podman, say=lines.append)

    assert podman.built == ["berth-base", "berth-python"]
    assert [(r.name, r.outcome) for r in results] == [
        ("berth-base", "built"),
        ("berth-python", "built"),
    ]
    assert results[1].reference == "localhost/berth-python:latest"
    assert any(line.startswith("images: berth-python: built in") for line in lines)


def test_images_that_exist_are_skipped(podman: FakePodman) -> None:
    small = podman.add("localhost/berth-small:latest", {LABEL_KIND: "test"})
    lines: list[str] = []

    (result,) = build_images(["small"], podman=podman, say=lines.append)

    assert podman.built == []
    assert (result.outcome, result.image_id) == ("skipped", small)
    assert lines == [f"images: berth-small: exists ({small[:12]}), skipped; --force rebuilds it"]


def test_force_rebuilds_the_named_image_only(podman: FakePodman) -> None:
    podman.add("localhost/berth-base:latest", {LABEL_KIND: "base"})
    old_python = podman.add("localhost/berth-python:latest", {LABEL_KIND: "python"})

    results = build_images(["python"], force=True, podman=podman, say=lambda line: None)

    assert podman.built == ["berth-python"]
    assert [r.outcome for r in results] == ["skipped", "built"]
    assert podman.removed == [old_python]


def test_force_without_names_rebuilds_everything(podman: FakePodman) -> None:
    for name in RECIPES:
        podman.add(f"localhost/{name}:latest", {LABEL_KIND: "x"})

    build_images(force=True, podman=podman, say=lambda line: None)

    assert podman.built == list(RECIPES)


def test_a_replaced_image_still_in_use_is_kept(podman: FakePodman) -> None:
    old = podman.add("localhost/berth-small:latest", {LABEL_KIND: "test"})
    podman.in_use.add(old)
    lines: list[str] = []

    build_images(["small"], force=True, podman=podman, say=lines.append)

    assert podman.removed == []
    assert f"images: berth-small: kept the image it replaces ({old[:12]}): still in use" in lines


def test_an_image_built_without_the_kind_label_fails_the_build(
    podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unlabelled(ctx: BuildContext, reference: str) -> None:
        podman.add(reference, {})

    monkeypatch.setitem(
        RECIPES, "berth-small", dataclasses.replace(RECIPES["berth-small"], build=unlabelled)
    )

    with pytest.raises(BuildError, match=r"without the io\.berth\.image\.kind label"):
        build_images(["small"], podman=podman, say=lambda line: None)


def test_a_missing_podman_is_a_clear_error() -> None:
    with pytest.raises(BuildError, match="no-such-podman is not installed"):
        build_images(["small"], podman=PodmanCli("no-such-podman"), say=lambda line: None)
