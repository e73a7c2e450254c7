"""``berth up``: the embedded single-node stack."""

from __future__ import annotations


def up() -> None:
    """Start the embedded stack."""
    raise SystemExit("berth up is being built")
