"""The messages a client's process sends itself and the calls it answers itself.

Private types: no message a user sends can be mistaken for one of these. Every message about a
connection carries the connection's number, so one from an older connection is ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp

from wsclient.options import Options
from wsclient.url import ClientURL

__all__ = [
    "Batch",
    "Beat",
    "CloseDeadline",
    "CloseReq",
    "ConnectReq",
    "DialFailed",
    "Drain",
    "Opened",
    "Retry",
    "SendFrames",
    "Start",
    "StatsReq",
    "Wake",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Start:
    """The host's start argument."""

    url: ClientURL
    opts: Options
    arg: Any


# -- the process's own messages -----------------------------------------------------------------


class Opened:
    __slots__ = ("conn", "status", "ws")

    def __init__(self, conn: int, ws: aiohttp.ClientWebSocketResponse, status: Any) -> None:
        self.conn, self.ws, self.status = conn, ws, status


class DialFailed:
    __slots__ = ("conn", "reason")

    def __init__(self, conn: int, reason: Any) -> None:
        self.conn, self.reason = conn, reason


class Batch:
    """A message from aiohttp's ``receive()``, handed over by the connection's helper."""

    __slots__ = ("conn", "msg")

    def __init__(self, conn: int, msg: Any) -> None:
        self.conn, self.msg = conn, msg


class ForConn:
    """A message about connection number `conn` (stale once a newer connection exists)."""

    __slots__ = ("conn",)

    def __init__(self, conn: int) -> None:
        self.conn = conn


class Drain(ForConn):
    """Go on taking buffered frames (sent to itself after serving its mailbox)."""

    __slots__ = ()


class Wake(ForConn):
    """aiohttp's reader has something for a client that had taken every frame: frames, an
    error or the end (sent from the socket's callback, see ``connection.ReaderHook``)."""

    __slots__ = ()


class Retry(ForConn):
    """The backoff timer: connect again."""

    __slots__ = ()


class Beat(ForConn):
    """The heartbeat timer."""

    __slots__ = ()


class CloseDeadline(ForConn):
    """The close timer: the peer did not answer our close frame in time."""

    __slots__ = ()


# -- the calls it answers itself ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SendFrames:
    frames: list[Any]


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectReq:
    start: bool  # False: only wait for the attempt under way (connect="sync")


@dataclasses.dataclass(frozen=True, slots=True)
class CloseReq:
    code: int
    reason: str


class StatsReq:
    __slots__ = ()

    def __repr__(self) -> str:
        return "wsclient.stats()"
