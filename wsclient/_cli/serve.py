"""``wsclient serve``: a local echo or ticker-feed server to try clients against.

Built on :mod:`wsclient.testing`: ``--mode echo`` is a ``Server(echo=True)`` and ``--mode
feed`` a ``FeedServer``. It listens on 127.0.0.1 unless ``--host`` says otherwise, announces
each connection on stderr, and stops on Ctrl-C or SIGTERM with status 0.
"""

from __future__ import annotations

import asyncio
import errno
from typing import Any

from aiohttp import web

from wsclient._cli._output import Output
from wsclient._cli._signals import on_signals
from wsclient.testing import FeedServer, Server

__all__ = ["run_serve"]


class _Announce(Server):
    """Says on stderr when a connection opens and closes (put it before the server class)."""

    def __init__(self, output: Output, **kw: Any) -> None:
        super().__init__(**kw)
        self.output = output
        self._names: dict[web.WebSocketResponse, str] = {}

    def _opened(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        super()._opened(ws, request)
        peer = request.remote or "?"
        name = f"{peer} {request.path_qs}"
        self._names[ws] = name
        self.output.say(f"connection from {name}", "green")

    def _closed(self, ws: web.WebSocketResponse) -> None:
        super()._closed(ws)
        self.output.say(f"connection from {self._names.pop(ws, '?')} ended", "dim")


class _EchoServer(_Announce):
    pass


class _FeedServer(_Announce, FeedServer):
    pass


async def run_serve(output: Output, *, host: str, port: int, mode: str, interval: float) -> int:
    """Run the command; return the exit status."""
    stop = asyncio.Event()
    with on_signals(lambda _: stop.set()):  # from before the address is announced
        server: Server
        if mode == "feed":
            server = _FeedServer(output, host=host, port=port, interval=interval)
        else:
            server = _EchoServer(output, host=host, port=port, echo=True)
        try:
            await server.start()
        except OSError as e:
            in_use = e.errno == errno.EADDRINUSE
            hint = (
                "choose another port with --port" if in_use else "check the address given to --host"
            )
            output.say(
                f"wsclient serve: cannot listen on {host}:{port}: {e.strerror or e}; {hint}",
                "bold red",
            )
            return 1
        hint = f" (try {server.url}BTC-USD)" if mode == "feed" else ""
        output.say(f"serving {mode} on {server.url}{hint}; Ctrl-C to stop", "bold")
        try:
            await stop.wait()
        finally:
            await server.stop()
    output.say("stopped", "dim")
    return 0
