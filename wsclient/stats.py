"""What ``wsclient.stats(pid)`` returns: counters and the state of one client."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Stats"]


@dataclass(frozen=True, slots=True)
class Stats:
    """A snapshot of one client. Times are seconds; ``*_since`` and ``next_retry_at`` are
    wall-clock (``time.time()``) timestamps."""

    #: "connecting", "connected", "closing", "backoff" or "down".
    state: str
    url: str
    frames_in: int
    bytes_in: int
    frames_out: int
    bytes_out: int
    connects: int
    disconnects: int
    #: When the current connection opened (None when not connected).
    connected_since: float | None
    #: Consecutive failed attempts so far; it goes back to 0 at the next disconnect of a
    #: connection that stayed up for ``Backoff.reset_after`` seconds.
    attempt: int
    #: The round-trip time of the last heartbeat ping answered, or None.
    rtt: float | None
    #: The kind of the last disconnect reason (e.g. "remote_closed"), or None.
    last_disconnect: str | None
    #: When the next connection attempt is due, in backoff; else None.
    next_retry_at: float | None
