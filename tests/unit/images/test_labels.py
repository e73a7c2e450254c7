"""Reading and writing Berth's image labels."""

from __future__ import annotations

import pytest

from images.labels import (
    LABEL_KIND,
    LABEL_LANGUAGE,
    LABEL_MIN_CPU,
    LABEL_MIN_MEM,
    LABEL_SERVICE_PORTS,
    ImageLabelError,
    ImageLabels,
    ServicePort,
    parse_labels,
    parse_service_ports,
)


def test_an_image_without_the_kind_label_is_not_a_berth_image() -> None:
    assert parse_labels(None) is None
    assert parse_labels({}) is None
    assert parse_labels({"maintainer": "someone", LABEL_LANGUAGE: "python"}) is None
    assert parse_labels({LABEL_KIND: "  "}) is None


def test_all_labels_are_read() -> None:
    labels = parse_labels(
        {
            LABEL_KIND: "python",
            LABEL_LANGUAGE: "python",
            LABEL_SERVICE_PORTS: "jupyter:http:8888,ssh:tcp:2200",
            LABEL_MIN_CPU: "0.5",
            LABEL_MIN_MEM: "64m",
        }
    )

    assert labels == ImageLabels(
        kind="python",
        language="python",
        service_ports=(ServicePort("jupyter", "http", 8888), ServicePort("ssh", "tcp", 2200)),
        min_resources={"cpu": "0.5", "mem": "64m"},
    )


def test_optional_labels_may_be_missing_or_empty() -> None:
    labels = parse_labels({LABEL_KIND: "test", LABEL_SERVICE_PORTS: "", LABEL_MIN_MEM: ""})

    assert labels == ImageLabels(kind="test")
    assert labels.min_resources == {}


def test_labels_written_by_a_recipe_read_back_the_same() -> None:
    labels = ImageLabels(
        kind="python",
        language="python",
        service_ports=(ServicePort("jupyter", "http", 8888),),
        min_resources={"mem": "256m"},
    )

    written = labels.to_labels()

    # Every key is written, so an image built FROM another overrides all of its labels.
    assert set(written) == {
        LABEL_KIND,
        LABEL_LANGUAGE,
        LABEL_SERVICE_PORTS,
        LABEL_MIN_CPU,
        LABEL_MIN_MEM,
    }
    assert written[LABEL_SERVICE_PORTS] == "jupyter:http:8888"
    assert parse_labels(written) == labels


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("jupyter:8888", "not name:protocol:port"),
        ("jupyter:gopher:8888", "protocol must be one of"),
        ("jupyter:http:0", "port must be 1-65535"),
        ("jupyter:http:65536", "port must be 1-65535"),
        ("jupyter:http:88a", "port must be 1-65535"),
        ("Jupyter:http:8888", "is not a service name"),
        ("a:tcp:1,a:tcp:2", "named twice"),
    ],
)
def test_malformed_service_ports_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ImageLabelError, match=problem) as raised:
        parse_service_ports(text)

    assert raised.value.label == LABEL_SERVICE_PORTS


def test_service_ports_tolerate_spaces_and_trailing_commas() -> None:
    assert parse_service_ports(" ssh:tcp:22 , ") == (ServicePort("ssh", "tcp", 22),)


@pytest.mark.parametrize("amount", ["lots", "-1", "1.2.3", "64 m"])
def test_a_malformed_minimum_is_refused(amount: str) -> None:
    with pytest.raises(ImageLabelError) as raised:
        parse_labels({LABEL_KIND: "test", LABEL_MIN_MEM: amount})

    assert raised.value.label == LABEL_MIN_MEM
