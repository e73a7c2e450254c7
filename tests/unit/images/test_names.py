"""Berth's short image names and Podman's references."""

from __future__ import annotations

import pytest

from images.names import container_image_ref, short_name


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("berth-small", "localhost/berth-small:latest"),
        ("berth-python:3.11", "localhost/berth-python:3.11"),
        ("team/tools", "localhost/team/tools:latest"),
        ("team/tools:v2", "localhost/team/tools:v2"),
        ("quay.io/org/image:1.0", "quay.io/org/image:1.0"),
        ("registry.example:5000/image", "registry.example:5000/image"),
        ("localhost/berth-small:latest", "localhost/berth-small:latest"),
        ("berth-small@sha256:" + "a" * 64, "localhost/berth-small@sha256:" + "a" * 64),
    ],
)
def test_names_map_to_podman_references(name: str, reference: str) -> None:
    assert container_image_ref(name) == reference


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("localhost/berth-small:latest", "berth-small"),
        ("localhost/berth-python:3.11", "berth-python:3.11"),
        ("localhost/team/tools:latest", "team/tools"),
        ("quay.io/org/image:latest", "quay.io/org/image"),
        ("quay.io/org/image:1.0", "quay.io/org/image:1.0"),
    ],
)
def test_references_map_to_short_names(reference: str, name: str) -> None:
    assert short_name(reference) == name


@pytest.mark.parametrize(
    "name", ["berth-small", "berth-python:3.11", "team/tools", "quay.io/org/image:1.0"]
)
def test_a_short_name_survives_the_round_trip(name: str) -> None:
    assert short_name(container_image_ref(name)) == name


@pytest.mark.parametrize("name", ["", " berth-small", "berth small", "-rm", "a;b"])
def test_what_is_no_image_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not an image name"):
        container_image_ref(name)
