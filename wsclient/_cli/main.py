"""The command line's entry point: arguments, checked before anything starts, and dispatch.

A bad argument prints one line saying what is wrong and a hint to ``--help``, and exits with
status 2, as Unix tools do; ``wsclient`` with no command runs the demo.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from wsclient._cli._output import Output, configure_logging
from wsclient.errors import InvalidURL
from wsclient.url import parse_url

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    #: The subcommands' parsers, by name (for an error found after parsing).
    commands: dict[str, _Parser]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\nTry '{self.prog} --help' for usage.\n")


def _url(value: str) -> str:
    try:
        parse_url(value)
    except InvalidURL as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def _header(value: str) -> tuple[str, str]:
    name, sep, content = value.partition(":")
    name = name.strip()
    if not sep:
        # no value is shown: the argument may be a secret with a typo in it
        raise argparse.ArgumentTypeError(
            "a header is NAME:VALUE, like 'X-Feed: prices'; this one has no ':'"
        )
    if not name or any(c in name for c in ' \t()<>@,;\\"/[]?={}'):
        raise argparse.ArgumentTypeError(
            f"a header is NAME:VALUE, and {name[:40]!r} is not a header name"
        )
    return name, content.strip()


def _seconds(value: str) -> float:
    try:
        s = float(value)
    except ValueError:
        s = -1.0
    if not s >= 0 or s == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds (a number >= 0), got {value!r}")
    return s


def _positive(value: str) -> float:
    s = _seconds(value)
    if s == 0:
        raise argparse.ArgumentTypeError("expected seconds > 0, got 0")
    return s


def _host(value: str) -> str:
    if not value.strip() or any(c.isspace() for c in value):
        raise argparse.ArgumentTypeError(f"expected an address or a host name, got {value!r}")
    return value


def _port(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535 (0: any free one), got {value!r}")
    return n


def build_parser() -> _Parser:
    parser = _Parser(
        prog="wsclient",
        description="Supervised, reconnecting websocket clients. With no command: the demo.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser(
        "connect",
        help="connect to URL, print what arrives, send stdin lines; reconnects on drops",
        description="A supervised websocket client in the terminal: frames received on "
        "stdout, each stdin line sent as a text frame, connection events on stderr. Ctrl-C "
        "or the end of stdin closes with code 1000.",
    )
    c.add_argument("url", type=_url, metavar="URL", help="ws:// or wss:// URL")
    c.add_argument(
        "--header", "-H", type=_header, action="append", default=[], metavar="K:V",
        help="an extra handshake header (repeatable); Authorization and Cookie are never shown",
    )  # fmt: skip
    c.add_argument(
        "--subprotocol", action="append", default=[], metavar="P",
        help="offer subprotocol P (repeatable, in order of preference)",
    )  # fmt: skip
    c.add_argument(
        "--ping-interval", type=_seconds, default=None, metavar="S",
        help="ping after S seconds of silence and give up S seconds later (0: no heartbeat; "
        "default 20)",
    )  # fmt: skip
    c.add_argument(
        "-n", "--no-close", action="store_true",
        help="the end of stdin does not close the connection: only Ctrl-C or SIGTERM do "
        "(to run it with no input, as from cron or a service)",
    )  # fmt: skip
    c.add_argument(
        "--no-reconnect", action="store_true",
        help="exit with status 1 when the connection is lost instead of reconnecting",
    )  # fmt: skip
    c.add_argument(
        "--json", action="store_true",
        help="one JSON object per line: frames on stdout, events (structlog) on stderr",
    )  # fmt: skip
    _observe_option(c)

    s = sub.add_parser(
        "serve",
        help="a local echo or ticker-feed server to try clients against",
        description="A local websocket server (wsclient.testing): echo sends every message "
        "back; feed streams numbered price ticks to each connection (the path picks the "
        "symbol, e.g. /ETH-USD).",
    )
    s.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0: any free)")
    s.add_argument(
        "--host", default="127.0.0.1", type=_host,
        help="address to listen on (default 127.0.0.1: this machine only)",
    )  # fmt: skip
    s.add_argument("--mode", choices=("echo", "feed"), default="echo", help="default: echo")
    s.add_argument(
        "--interval", type=_positive, default=0.5, metavar="S",
        help="feed mode: seconds between ticks (default 0.5)",
    )  # fmt: skip

    d = sub.add_parser(
        "demo",
        help="watch a supervision tree survive a restart, a crash, a silent server and a 503",
        description="Starts a local feed server and a supervised tree of clients, breaks "
        "things on purpose and shows how each is survived; ends by itself in under 30 s.",
    )
    _observe_option(d, " and keep the tree running after the script until Ctrl-C")
    parser.commands = {"connect": c, "serve": s, "demo": d}
    return parser


def _observe_option(p: argparse.ArgumentParser, more: str = "") -> None:
    p.add_argument(
        "--observe", type=_port, nargs="?", const=8040, default=None, metavar="PORT",
        help=f"serve the live web view of the tree (otpy.observer) on 127.0.0.1:PORT (default "
        f"8040; 0: any free port) and print its address{more}",
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; exits with the command's status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    raise SystemExit(_run(parser, args))


def _run(parser: _Parser, args: argparse.Namespace) -> int:
    command = args.command or "demo"
    output = Output(json=bool(getattr(args, "json", False)))
    try:
        if command == "connect":
            from wsclient._cli.connect import client_options, run_connect
            from wsclient.errors import InvalidOption

            try:
                options = client_options(
                    args.url, args.header, args.subprotocol, args.ping_interval
                )
            except (InvalidOption, InvalidURL) as e:
                parser.commands["connect"].error(str(e))
            configure_logging(output)
            coro: Any = run_connect(
                args.url,
                output,
                options=options,
                no_reconnect=args.no_reconnect,
                no_close=args.no_close,
                observe=args.observe,
            )
        elif command == "serve":
            configure_logging(output)
            from wsclient._cli.serve import run_serve

            coro = run_serve(
                output, host=args.host, port=args.port, mode=args.mode, interval=args.interval
            )
        else:
            from wsclient._cli.demo import run_demo

            coro = run_demo(output, getattr(args, "observe", None))
        return int(asyncio.run(coro))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): nothing more to say
        return 0
