"""The inventory an agent reports: Berth images in Podman's listing."""

from __future__ import annotations

from typing import Any

from images.inventory import ImageInfo, images_from_listing, list_images
from images.labels import LABEL_KIND, LABEL_MIN_MEM, LABEL_SERVICE_PORTS

SMALL = {
    "Id": "a" * 64,
    "RepoTags": ["localhost/berth-small:latest"],
    "Size": 2_141_517,
    "Labels": {LABEL_KIND: "test", LABEL_MIN_MEM: "16m", "io.berth.image.language": "shell"},
}


def test_a_berth_image_is_listed_by_its_short_name_with_its_labels() -> None:
    assert images_from_listing([SMALL]) == [
        ImageInfo(
            name="berth-small",
            kind="test",
            language="shell",
            service_ports=(),
            min_resources={"mem": "16m"},
            size=2_141_517,
            id="a" * 64,
        )
    ]


def test_images_without_the_kind_label_are_not_listed() -> None:
    other = {"Id": "b" * 64, "RepoTags": ["localhost/other:latest"], "Labels": {"x": "y"}}
    unlabelled = {"Id": "c" * 64, "RepoTags": ["localhost/bare:latest"], "Labels": None}

    assert [info.name for info in images_from_listing([other, unlabelled, SMALL])] == [
        "berth-small"
    ]


def test_an_image_with_two_names_is_listed_under_both() -> None:
    tagged = {**SMALL, "RepoTags": ["localhost/berth-small:latest", "localhost/berth-small:v2"]}

    assert [info.name for info in images_from_listing([tagged])] == [
        "berth-small",
        "berth-small:v2",
    ]


def test_untagged_images_left_by_a_rebuild_are_not_listed() -> None:
    dangling = {**SMALL, "Id": "d" * 64, "RepoTags": ["<none>:<none>"]}
    no_tags = {**SMALL, "Id": "e" * 64, "RepoTags": None, "Names": None}

    assert images_from_listing([dangling, no_tags]) == []


def test_the_command_line_listing_names_images_too() -> None:
    # `podman images --format json` has RepoTags null and the names under Names.
    from_cli = {**SMALL, "RepoTags": None, "Names": ["localhost/berth-small:latest"]}

    assert [info.name for info in images_from_listing([from_cli])] == ["berth-small"]


def test_an_image_with_malformed_labels_is_left_out() -> None:
    broken = {
        "Id": "f" * 64,
        "RepoTags": ["localhost/broken:latest"],
        "Labels": {LABEL_KIND: "python", LABEL_SERVICE_PORTS: "jupyter"},
    }

    assert [info.name for info in images_from_listing([broken, SMALL])] == ["berth-small"]


def test_image_info_is_hashable() -> None:
    (info,) = images_from_listing([SMALL])

    assert info in {info}


class FakeImage:
    def __init__(self, attrs: dict[str, Any]) -> None:
        self.attrs = attrs


class FakeImages:
    def __init__(self, listing: list[dict[str, Any]]) -> None:
        self.listing = listing
        self.filters: list[dict[str, Any]] = []

    def list(self, **kwargs: Any) -> list[FakeImage]:
        self.filters.append(kwargs.get("filters", {}))
        return [FakeImage(attrs) for attrs in self.listing]


class FakeClient:
    def __init__(self, listing: list[dict[str, Any]]) -> None:
        self.images = FakeImages(listing)


def test_list_images_asks_podman_only_for_labelled_images() -> None:
    client = FakeClient([SMALL])

    found = list_images(client)  # type: ignore[arg-type]

    assert [info.name for info in found] == ["berth-small"]
    assert client.images.filters == [{"label": LABEL_KIND}]
