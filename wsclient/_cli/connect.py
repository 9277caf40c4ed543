"""``wsclient connect URL``: a supervised, reconnecting websocket client in the terminal.

Received text and binary frames go to stdout; each line of stdin is sent as a text frame, in
order, once the connection is up (lines typed while it is down wait for the next connection).
Connects, disconnects and the next retry go to stderr. Ctrl-C (SIGINT), SIGTERM or the end of
stdin (unless ``--no-close``) close the connection with code 1000 and exit with status 0; a
second Ctrl-C exits at once with status 130. Status 1: with ``--no-reconnect``, the connection
was lost; or lines of input were left unsent. A closed stdout (``| head``) ends it with 0.

The client is a :class:`wsclient.WebsocketClient` under a one_for_one supervisor (restart
transient), the same tree a program would write.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog

import otpy
import wsclient
from wsclient import (
    Binary,
    CloseFrame,
    Disconnected,
    LocalClosed,
    Ok,
    Reconnect,
    Text,
    WebsocketClient,
)
from wsclient._cli._output import Output, describe
from wsclient._cli._signals import on_signals
from wsclient.client import _prepare

__all__ = ["run_connect"]

#: The local name of the client process.
CLIENT = "wsclient-connect"


@dataclass(frozen=True, slots=True)
class _Session:
    main: otpy.Pid
    output: Output
    no_reconnect: bool


@dataclass(frozen=True, slots=True)
class _Up:
    pass


@dataclass(frozen=True, slots=True)
class _Lost:
    reason: Disconnected


@dataclass(frozen=True, slots=True)
class _Line:
    text: str


@dataclass(frozen=True, slots=True)
class _Eof:
    pass


@dataclass(frozen=True, slots=True)
class _StdoutGone:
    pass


@dataclass(frozen=True, slots=True)
class _Signal:
    signum: int


_log = structlog.get_logger("wsclient.cli")


class Terminal(WebsocketClient):
    """Prints what arrives; tells the command's main task when the connection comes and goes."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_connect(self, status: Any, session: _Session) -> Ok:
        otpy.send(session.main, _Up())
        return Ok(session)

    async def handle_frame(self, frame: Any, session: _Session) -> Ok:
        t = type(frame)
        if t is Text or t is Binary:
            session.output.frame(frame)
        elif t is CloseFrame:
            _log.info("cli_note", message=f"the server sent close {frame.code} {frame.reason!r}")
        return Ok(session)

    async def handle_disconnect(self, reason: Any, session: _Session) -> Ok | Reconnect:
        if type(reason) is not LocalClosed:
            _log.warning("cli_disconnected", reason=describe(reason), kind=reason.kind)
        otpy.send(session.main, _Lost(reason))
        if session.no_reconnect or type(reason) is LocalClosed:
            return Ok(session)
        return Reconnect(session)


def _read_stdin(loop: asyncio.AbstractEventLoop, main: otpy.Pid) -> None:
    """A thread: each line of stdin to the main task, then the end of input.

    It reads the file descriptor with ``os.read``, not through ``sys.stdin``: a daemon thread
    blocked inside the buffered reader's lock makes the interpreter abort at exit. Only the new
    chunk is searched for line ends, so a very long line costs its length, not its square.
    """
    partial: list[bytes] = []

    def line(raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").removesuffix("\r")
        loop.call_soon_threadsafe(otpy.send, main, _Line(text))

    try:
        while chunk := os.read(0, 65536):
            start = 0
            while (end := chunk.find(b"\n", start)) != -1:
                partial.append(chunk[start:end])
                line(b"".join(partial))
                partial.clear()
                start = end + 1
            if start < len(chunk):
                partial.append(chunk[start:])
        if partial:
            line(b"".join(partial))
        loop.call_soon_threadsafe(otpy.send, main, _Eof())
    except (RuntimeError, OSError):
        pass  # the loop has closed (the program is ending), or stdin is not readable


def client_options(
    url: str,
    headers: list[tuple[str, str]],
    subprotocols: list[str],
    ping_interval: float | None,
) -> dict[str, Any]:
    """The client's options from the command line, checked as ``start_link`` checks them:
    InvalidURL or InvalidOption here, before anything starts."""
    options: dict[str, Any] = {"headers": headers, "subprotocols": subprotocols}
    if ping_interval is not None:
        options.update(ping_interval=ping_interval or None, ping_timeout=ping_interval or None)
    _prepare(url, Terminal, dict(options))
    return options


async def run_connect(
    url: str,
    output: Output,
    *,
    options: dict[str, Any],
    no_reconnect: bool,
    no_close: bool = False,
    observe: int | None = None,
) -> int:
    """Run the command; return the exit status. `options`: from :func:`client_options`;
    `no_close`: the end of stdin does not close; `observe`: a port for otpy.observer."""
    loop = asyncio.get_running_loop()
    main = otpy.self_pid()
    signals_seen = 0

    def on_signal(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            os._exit(130)  # a second Ctrl-C: the user does not want to wait for the close
        otpy.send(main, _Signal(signum))

    with on_signals(on_signal):
        was_trapping = otpy.trap_exits(True)
        try:
            return await _session(url, output, main, options, no_reconnect, no_close, loop, observe)
        finally:
            otpy.trap_exits(was_trapping)


async def _session(
    url: str,
    output: Output,
    main: otpy.Pid,
    options: dict[str, Any],
    no_reconnect: bool,
    no_close: bool,
    loop: asyncio.AbstractEventLoop,
    observe: int | None,
) -> int:
    session = _Session(main, output, no_reconnect)
    children: list[Any] = [
        Terminal.child_spec(
            {"url": url, "arg": session, "name": CLIENT, **options}, restart="transient"
        )
    ]
    if observe is not None:
        from otpy.observer import Observer

        children.append(Observer.child_spec(port=observe, print_url=False))
    sup = await otpy.Supervisor.start_link(children, strategy="one_for_one")
    assert sup is not None  # a plain Supervisor never answers Ignore
    if observe is not None:
        from otpy.observer import observer_url

        with contextlib.suppress(otpy.NoProcess):
            output.announce("observer", await observer_url())

    output.on_stdout_gone = lambda: otpy.send(main, _StdoutGone())
    threading.Thread(target=_read_stdin, args=(loop, main), daemon=True).start()

    pending: deque[str] = deque()
    connected = False
    eof = False
    status = 0
    while True:
        msg = await otpy.receive()
        t = type(msg)
        if t is _Up:
            connected = True
        elif t is _Lost:
            connected = False
            if no_reconnect and type(msg.reason) is not LocalClosed:
                _log.error(
                    "cli_gave_up",
                    message="the connection is lost and --no-reconnect is set"
                    if msg.reason.kind not in ("connect_failed", "handshake_rejected")
                    else "could not connect, and --no-reconnect is set",
                )
                status = 1
                break
        elif t is _Line:
            pending.append(msg.text)
        elif t is _Eof:
            eof = not no_close
            if eof and pending and not connected:
                _log.info(
                    "cli_waiting",
                    message=f"end of input: waiting for a connection to send {len(pending)} "
                    "line(s); Ctrl-C to give up",
                )
        elif t is _Signal or t is _StdoutGone:
            break
        elif t is otpy.Exit and msg.pid == sup:
            _log.error("cli_supervisor_exited", reason=repr(msg.reason))
            return 1
        if connected and pending:
            connected = await _flush(pending)
        if eof and not pending:
            break
    if pending:
        _log.error(
            "cli_lines_not_sent",
            message=f"{len(pending)} line(s) of input were not sent", count=len(pending),
        )  # fmt: skip
        status = 1
    await _close(sup, connected)
    return status


async def _flush(pending: deque[str]) -> bool:
    """Send the waiting lines in order; False if the connection went down meanwhile (the line
    that could not be sent stays first in the queue)."""
    while pending:
        try:
            await wsclient.send_frame(CLIENT, Text(pending[0]))
        except (wsclient.NotConnected, otpy.NoProcess, otpy.ServerExited, otpy.CallTimeout):
            # down, or the client is being restarted: the line waits for the next _Up
            return False
        pending.popleft()
    return True


async def _close(sup: otpy.Pid, connected: bool) -> None:
    if connected:
        _log.info("cli_closing", message="closing the connection (1000)")
    with contextlib.suppress(otpy.NoProcess, otpy.ServerExited, otpy.CallTimeout):
        await wsclient.close(CLIENT, 1000, timeout=10.0)
    with contextlib.suppress(otpy.NoProcess):
        await otpy.stop(sup, "shutdown")
    if connected:
        _log.info("cli_closed", message="closed")
