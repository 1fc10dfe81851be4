"""The `integration-hub` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from api._server import serve
from config import CONFIG_ENV, Settings, SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="integration-hub", description=__doc__)
    parser.add_argument(
        "--config", type=Path, help=f"TOML settings file (default: ${CONFIG_ENV}, if set)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the hub (API, dashboard, integrations)")
    run.add_argument("--host", help="listen address (default: HUB_HOST or 127.0.0.1)")
    run.add_argument("--port", type=int, help="listen port (default: HUB_PORT or 8080)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"host": getattr(args, "host", None), "port": getattr(args, "port", None)}
    return load_settings(overrides, env=os.environ, config_file=args.config)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except SettingsError as error:
        print(f"integration-hub: {error}", file=sys.stderr)
        return 2
    try:
        anyio.run(serve, settings)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
