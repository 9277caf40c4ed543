"""Why a connection ended, as ``handle_disconnect`` is told, and the exit reason ``GaveUp``.

Every reason is a frozen dataclass with ``.attempt``: the number of consecutive failed
attempts, this one included. The count goes back to zero only when a connection has stayed up
for ``Backoff.reset_after`` seconds, so a connection that opens and drops at once counts as one
more failure (fail, fail, connect, drop gives attempt 3), and a healthy one that drops gives 1.
``.kind`` is a short name used in logs and stats. The reasons are also exceptions (subclasses
of :class:`Disconnected`): ``start_link(..., connect="sync")`` and ``wsclient.connect`` raise
the reason when the attempt they wait for fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from wsclient.errors import WsClientError

__all__ = [
    "ConnectFailed",
    "Disconnected",
    "GaveUp",
    "HandshakeRejected",
    "HeartbeatTimeout",
    "LocalClosed",
    "ProtocolError",
    "RemoteClosed",
    "TransportError",
]


class Disconnected(WsClientError):
    """Base class of the disconnect reasons."""

    kind: ClassVar[str] = "disconnected"
    attempt: int


@dataclass(frozen=True, slots=True)
class ConnectFailed(Disconnected):
    """No connection: refused, DNS, TLS, or no upgrade answer within ``connect_timeout``."""

    error: BaseException
    attempt: int = 1
    kind: ClassVar[str] = "connect_failed"

    def __str__(self) -> str:
        return f"could not connect (attempt {self.attempt}): {self.error!r}"


@dataclass(frozen=True, slots=True)
class HandshakeRejected(Disconnected):
    """The server answered the upgrade with `status` (not 101). ``retry_after`` is the seconds
    its Retry-After header asked for (on 429 and 503), or None."""

    status: int
    headers: Any = field(repr=False, compare=False)
    retry_after: float | None = None
    attempt: int = 1
    kind: ClassVar[str] = "handshake_rejected"

    def __str__(self) -> str:
        wait = f", Retry-After {self.retry_after:g}s" if self.retry_after is not None else ""
        return f"the server refused the upgrade with HTTP {self.status}{wait}"


@dataclass(frozen=True, slots=True)
class RemoteClosed(Disconnected):
    """The server sent a close frame with `code` and `reason` (1005 if it gave no code)."""

    code: int
    reason: str = ""
    attempt: int = 1
    kind: ClassVar[str] = "remote_closed"

    def __str__(self) -> str:
        return f"the server closed the connection with {self.code} {self.reason!r}"


@dataclass(frozen=True, slots=True)
class LocalClosed(Disconnected):
    """The client closed the connection: a ``Close`` result or ``wsclient.close``. `code` is the
    code it sent (None for an abort)."""

    code: int | None = 1000
    reason: str = ""
    attempt: int = 1
    kind: ClassVar[str] = "local_closed"

    def __str__(self) -> str:
        if self.code is None:
            return "the client dropped the connection"
        return f"the client closed the connection with {self.code} {self.reason!r}"


@dataclass(frozen=True, slots=True)
class HeartbeatTimeout(Disconnected):
    """Nothing came back from the peer within ``ping_timeout`` of a ping: the link is dead."""

    attempt: int = 1
    kind: ClassVar[str] = "heartbeat_timeout"

    def __str__(self) -> str:
        return "no answer to a ping within ping_timeout: the connection is dead"


@dataclass(frozen=True, slots=True)
class TransportError(Disconnected):
    """The connection broke without a close frame (reset, end of stream, a failed write)."""

    error: BaseException | None = None
    attempt: int = 1
    kind: ClassVar[str] = "transport_error"

    def __str__(self) -> str:
        return f"the connection broke: {self.error!r}"


@dataclass(frozen=True, slots=True)
class ProtocolError(Disconnected):
    """The peer broke RFC 6455 (a bad frame, bad UTF-8, a message over ``max_msg_size``); the
    client answered with the close `code` the RFC asks for."""

    detail: str
    code: int = 1002
    attempt: int = 1
    kind: ClassVar[str] = "protocol_error"

    def __str__(self) -> str:
        return f"protocol error ({self.code}): {self.detail}"


@dataclass(frozen=True, slots=True)
class GaveUp(WsClientError):
    """The exit reason of a client that failed ``Backoff.max_attempts`` times in a row; `last`
    is the reason of the last attempt. Its supervisor sees it."""

    last: Any
    attempts: int = 0

    def __str__(self) -> str:
        return f"gave up after {self.attempts} failed attempts; the last: {self.last}"
