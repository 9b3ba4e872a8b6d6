"""`whatmatters web --listen HOST:PORT`: the staff dashboard on its own (uvicorn)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Generator
from typing import Any

import uvicorn

from bot.settings import Settings


def add_parser(commands: Any) -> None:
    """Add `web` to the command line's parser."""
    web = commands.add_parser("web", help="the web dashboard for staff and admins")
    web.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="where to listen, e.g. 127.0.0.1:8080 (default: WHATMATTERS_WEB_LISTEN)",
    )


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (or `[::1]:PORT`) as a host and a port; ValueError if it is not one."""
    host, _, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not an address such as 127.0.0.1:8080")
    return host, int(port)


class _BesideTheBot(uvicorn.Server):
    """The dashboard's server inside `whatmatters run`: the bot's own SIGTERM handling stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Leave the signals to the bot."""
        yield


def beside_the_bot(settings: Settings) -> uvicorn.Server | None:
    """The dashboard to serve in the same process as the bot, if WHATMATTERS_WEB_LISTEN is set."""
    if not settings.web_listen:
        return None
    from web import create_app

    host, port = parse_listen(settings.web_listen)
    config = uvicorn.Config(
        create_app(settings), host=host, port=port, server_header=False, log_level="warning"
    )
    return _BesideTheBot(config)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the dashboard until stopped; returns the exit status."""
    listen = args.listen or settings.web_listen
    if not listen:
        print(
            "whatmatters: say where the dashboard listens: --listen HOST:PORT "
            "or WHATMATTERS_WEB_LISTEN",
            file=sys.stderr,
        )
        return 2
    try:
        host, port = parse_listen(listen)
    except ValueError as error:
        print(f"whatmatters: {error}", file=sys.stderr)
        return 2
    if not settings.web_url:
        print(
            "whatmatters: WHATMATTERS_WEB_URL is not set, so the bot cannot send sign-in links "
            "to the dashboard yet",
            file=sys.stderr,
        )
    from web import create_app

    uvicorn.run(create_app(settings), host=host, port=port, server_header=False)
    return 0
