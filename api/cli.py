"""The `integration-hub` command: run the hub, apply migrations, manage the vault's keys."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
from opentelemetry import trace

from api._keys import rotate_keys
from api._server import serve
from api._services import StartupError, open_services
from config import CONFIG_ENV, Settings, SettingsError, load_settings
from runtime.store import StoreError, StoreUnavailable
from runtime.telemetry import TelemetryConfigError, configure_tracing, shutdown_tracing
from runtime.vault import VaultError, generate_key

EXIT_USAGE = 2  # bad settings or input: fix and run again
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: a service it needs (the database) is not there


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="integration-hub", description=__doc__)
    parser.add_argument(
        "--config", type=Path, help=f"TOML settings file (default: ${CONFIG_ENV}, if set)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the hub (API, dashboard, integrations)")
    run.add_argument("--host", help="listen address (default: HUB_HOST or 127.0.0.1)")
    run.add_argument("--port", type=int, help="listen port (default: HUB_PORT or 8080)")
    commands.add_parser("migrate", help="apply the database migrations, then exit")
    keys = commands.add_parser("keys", help="the credential vault's keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_commands.add_parser("generate", help="print a new random key (for HUB_SECRET_KEY)")
    key_commands.add_parser("rotate", help="re-seal every credential under the primary key")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"host": getattr(args, "host", None), "port": getattr(args, "port", None)}
    return load_settings(overrides, env=os.environ, config_file=args.config)


def _say(line: str) -> None:
    print(line, flush=True)


async def _migrate(settings: Settings) -> None:
    async with open_services(settings) as services:
        _say(f"database is up to date ({type(services.store).__name__})")


async def _rotate(settings: Settings) -> None:
    async with open_services(settings) as services:
        result = await rotate_keys(services.store, services.vault, origin="cli", report=_say)
        _say(f"done: {result.rotated} re-sealed, {result.already_current} already current")


async def _run(settings: Settings) -> None:
    """Serve with tracing configured from the `OTEL_*` variables (none set: no export)."""
    provider = configure_tracing(os.environ)
    trace.set_tracer_provider(provider)
    try:
        await serve(settings)
    finally:
        await shutdown_tracing(provider)


def _command(args: argparse.Namespace) -> Callable[[Settings], Awaitable[None]] | None:
    if args.command == "run":
        return _run
    if args.command == "migrate":
        return _migrate
    if args.keys_command == "rotate":
        return _rotate
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "keys" and args.keys_command == "generate":
        _say(generate_key())
        return 0
    command = _command(args)
    assert command is not None
    try:
        settings = _settings(args)
        anyio.run(command, settings)
    except (SettingsError, StartupError, VaultError, TelemetryConfigError) as error:
        print(f"integration-hub: {error}", file=sys.stderr)
        return EXIT_USAGE
    except StoreUnavailable as error:
        print(f"integration-hub: database unavailable: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except StoreError as error:
        print(f"integration-hub: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
