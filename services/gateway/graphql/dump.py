"""``python -m services.gateway.graphql.dump [--check] [PATH]``: the schema as SDL.

Writes ``docs/graphql.schema`` (or PATH); with ``--check`` writes nothing and
exits 1 when the file differs from the schema the code builds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.gateway.graphql.schema import build_schema

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "docs" / "graphql.schema"


def sdl() -> str:
    return build_schema().as_str() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, default=SCHEMA_PATH)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = sdl()
    if args.check:
        current = args.path.read_text() if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is out of date: run python -m services.gateway.graphql.dump")
            return 1
        return 0
    args.path.write_text(text)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
