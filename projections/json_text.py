"""JSON text for read-model columns: compact, keys sorted, so equal values give equal text."""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(order="sorted")


def json_text(value: Any) -> str:
    """``value`` (builtins or msgspec structs) as compact JSON with sorted keys."""
    return _encoder.encode(value).decode()
