"""How the command line writes: received frames on stdout, events on stderr.

Human first: local timestamps, colour when the stream is a terminal (rich decides, and honours
``NO_COLOR`` and ``FORCE_COLOR``), plain text otherwise. With ``--json`` every line of stdout is
one JSON object per frame, and stderr carries structlog's events as JSON lines, for ``jq``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog
from rich.console import Console
from rich.text import Text as RichText

from wsclient.frames import Text
from wsclient.reasons import ConnectFailed

__all__ = [
    "Output",
    "clock",
    "configure_logging",
    "describe",
    "hex_preview",
    "human_event",
    "iso_time",
]

#: How many bytes of a binary frame the human form shows.
PREVIEW_BYTES = 16


def clock(t: float | None = None) -> str:
    """Local wall-clock time with milliseconds: ``14:03:07.412``."""
    t = time.time() if t is None else t
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


def iso_time(t: float | None = None) -> str:
    """UTC ISO 8601 with milliseconds: ``2026-12-02T14:03:07.412Z``."""
    t = time.time() if t is None else t
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hex_preview(data: bytes, limit: int = PREVIEW_BYTES) -> str:
    """``[binary 1,024 B] 00 01 02 ... ff …``: the size and the first `limit` bytes."""
    head = " ".join(f"{b:02x}" for b in data[:limit])
    more = " …" if len(data) > limit else ""
    return f"[binary {len(data):,} B] {head}{more}".rstrip()


def describe(reason: Any) -> str:
    """A disconnect reason in one readable line: as its ``str``, but a failed attempt shows the
    error's message rather than its repr (aiohttp's repr of a refused connection is a screenful).
    """
    if type(reason) is ConnectFailed:
        error = reason.error
        return f"could not connect (attempt {reason.attempt}): {type(error).__name__}: {error}"
    return str(reason)


class Output:
    """Where frames and messages go. `json`: machine-readable lines instead of human ones."""

    def __init__(
        self, *, json: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.json = json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        for stream in (self.stdout, self.stderr):
            # a frame or a message the terminal's encoding cannot show is shown escaped, not
            # raised from inside the client (which would crash it)
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
        self.out = Console(file=self.stdout, highlight=False, soft_wrap=True)
        self.err = Console(file=self.stderr, highlight=False, soft_wrap=True, stderr=True)
        #: Called once when stdout's reader has gone (``| head``): the command should end.
        self.on_stdout_gone: Callable[[], None] | None = None
        self.stdout_gone = False

    def stdout_closed(self) -> None:
        """stdout's reader went away: write nothing more there, and say so once."""
        if self.stdout_gone:
            return
        self.stdout_gone = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stdout.fileno())  # what is still buffered goes nowhere
            os.close(devnull)
        if self.on_stdout_gone is not None:
            self.on_stdout_gone()

    # -- frames (stdout) -----------------------------------------------------------------------

    def frame(self, frame: Any) -> None:
        """Print one received data frame (Text or Binary)."""
        now = time.time()
        if self.json:
            self._json_frame(frame, now)
            return
        if type(frame) is Text:
            body, style = frame.data, ""
        else:
            body, style = hex_preview(frame.data), "cyan"
        try:
            self._write(self.out, self.stdout, f"{clock(now)} ", "dim", body, style)
        except BrokenPipeError:
            self.stdout_closed()

    def _json_frame(self, frame: Any, now: float) -> None:
        obj: dict[str, Any] = {"ts": iso_time(now)}
        if type(frame) is Text:
            obj.update(type="text", data=frame.data)
        else:
            data = bytes(frame.data)
            obj.update(type="binary", size=len(data), base64=base64.b64encode(data).decode())
        self.line(json.dumps(obj, ensure_ascii=False))

    def line(self, text: str) -> None:
        """One plain line on stdout; nothing once its reader has gone."""
        if self.stdout_gone:
            return
        try:
            self.stdout.write(text + "\n")
            self.stdout.flush()
        except BrokenPipeError:
            self.stdout_closed()

    # -- messages (stderr) ---------------------------------------------------------------------

    def announce(self, what: str, url: str) -> None:
        """Print an address on stderr (not a log event: it may carry a token), as a JSON
        object in --json mode."""
        if self.json:
            self.stderr.write(json.dumps({"event": f"{what}_url", "url": url}) + "\n")
            self.stderr.flush()
        else:
            self.say(f"{what}: {url}", "bold")

    def say(self, message: str, style: str = "") -> None:
        """A human message on stderr, with a timestamp (not in --json mode: use events)."""
        with contextlib.suppress(BrokenPipeError):  # nobody reads stderr: nothing to tell
            self._write(self.err, self.stderr, f"{clock()} ", "dim", message, style)

    def _write(
        self, console: Console, stream: TextIO, head: str, head_style: str, body: str, style: str
    ) -> None:
        if console.is_terminal and console.color_system is not None:
            console.print(RichText.assemble((head, head_style), (body, style)))
        else:
            stream.write(head + body + "\n")
            stream.flush()


# -- structlog -----------------------------------------------------------------------------------

_LEVEL_STYLE = {"warning": "yellow", "error": "bold red", "critical": "bold red"}


def human_event(event: MutableMapping[str, Any]) -> tuple[str, str] | None:
    """The one-line human form of a log event and its style, or None to leave it out.

    The events wsclient and otpy emit are listed in docs/howto/logging.md; the command line
    shows a client's life (connecting, connected, disconnected, the next retry) and every
    warning or error, and leaves out routine info such as ``child_started``.
    """
    name = event.get("event")
    level = event.get("level", "info")
    if name == "ws_connecting":
        attempt = event.get("attempt", 1)
        return f"connecting to {event.get('url')} (attempt {attempt})", "dim"
    if name == "ws_connected":
        sub = event.get("subprotocol")
        return f"connected{f' (subprotocol {sub})' if sub else ''}", "green"
    if name == "cli_disconnected":
        return f"disconnected: {event.get('reason')}", "yellow"
    if name == "ws_reconnect_scheduled":
        return (
            f"reconnecting in {event.get('delay', 0):.2f} s (attempt {event.get('attempt')})",
            "yellow",
        )
    if name == "ws_heartbeat_timeout":
        return "the server stopped answering pings: the connection is dead", "yellow"
    if name in ("cli_closing", "cli_closed", "cli_note", "cli_waiting"):
        return str(event.get("message", name)), "dim"
    if name in ("cli_gave_up", "cli_lines_not_sent"):
        return str(event.get("message", name)), "bold red"
    if level in _LEVEL_STYLE:
        extra = {
            k: v
            for k, v in event.items()
            if k not in ("event", "level", "timestamp", "exc_info", "logger", "module")
        }
        fields = " ".join(f"{k}={v}" for k, v in extra.items())
        return f"{name} {fields}".rstrip(), _LEVEL_STYLE[level]
    return None


def _human_renderer(output: Output) -> Callable[..., Any]:
    def render(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
        shown = human_event(event)
        if shown is not None:
            output.say(*shown)
        raise structlog.DropEvent

    return render


def configure_logging(output: Output, sink: Callable[..., Any] | None = None) -> None:
    """Route structlog (wsclient's and otpy's events) for the command line.

    `sink`: a structlog processor that takes every event instead (the demo's view). Otherwise
    events go to stderr: as JSON lines in --json mode (every event at info level and above),
    else as human lines (see :func:`human_event`).
    """
    base: list[Any] = [structlog.processors.add_log_level]
    if sink is not None:
        processors = [*base, sink]
    elif output.json:
        processors = [
            *base,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=repr),
        ]
    else:
        processors = [*base, _human_renderer(output)]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(output.stderr),
        cache_logger_on_first_use=False,
    )
