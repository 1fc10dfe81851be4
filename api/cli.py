"""The `integration-hub` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio
from pydantic import ValidationError

from api._server import serve
from config import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="integration-hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the hub (API, dashboard, integrations)")
    run.add_argument("--host", help="listen address (default: HUB_HOST or 127.0.0.1)")
    run.add_argument("--port", type=int, help="listen port (default: HUB_PORT or 8080)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {
        key: value for key in ("host", "port") if (value := getattr(args, key)) is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        print(f"integration-hub: invalid setting {where}: {problem['msg']}", file=sys.stderr)
        return 2
    try:
        anyio.run(serve, settings)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
