"""The connection's state machine, without I/O: states, the attempt count, backoff delays, and
the close and heartbeat deadlines, on an injected clock.

The client process drives it: it tells the machine what happened (a connection opened, a frame
came in, the socket broke) and asks it what to do next (how long to wait before reconnecting,
whether to send a ping or give the link up for dead). Every connection attempt gets a new
number, ``conn``; an event or a timer that carries an older number is stale and is ignored.
That is what keeps a timer from a previous connection from closing the current one, and a
close asked for while disconnected from doing anything at all.

States::

    down ──connect──▶ connecting ──opened──▶ connected ──close──▶ closing
     ▲                  │                     │                     │
     │                  └──────failed─────────┴──────lost───────────┘
     │                                     ▼
     └───── handle_disconnect: Ok ───── (lost) ── Reconnect ──▶ backoff ──timer──▶ connecting
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from wsclient.backoff import Backoff

__all__ = ["Heartbeat", "Machine", "Plan", "State"]

State = Literal["down", "connecting", "connected", "closing", "backoff"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do after a disconnect: reconnect in `delay` seconds, or give up."""

    delay: float | None  # None: give up
    attempt: int

    @property
    def gave_up(self) -> bool:
        return self.delay is None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What the heartbeat check decided: ``"ping"`` (send one now), ``"dead"`` (no answer in
    time), or None; and when to check next (None: the heartbeat is off)."""

    action: Literal["ping", "dead"] | None
    next_at: float | None


class Machine:
    """The state of one client's connection. `clock` returns seconds (monotonic)."""

    def __init__(
        self,
        backoff: Backoff,
        *,
        ping_interval: float | None,
        ping_timeout: float | None,
        close_timeout: float,
        clock: Callable[[], float],
        rng: random.Random | None = None,
    ) -> None:
        self.backoff = backoff
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout if ping_timeout is not None else ping_interval
        self.close_timeout = close_timeout
        self.clock = clock
        # one generator for all clients (the random module's): a Random() each would cost
        # 2.5 KiB per client; tests inject their own
        self.rng: Any = random if rng is None else rng
        self.state: State = "down"
        self.conn = 0
        self.attempt = 0
        self.connected_at: float | None = None
        self.last_rx = 0.0
        self.ping_sent_at: float | None = None
        self.close_deadline: float | None = None
        self.connects = 0
        self.disconnects = 0
        self.rtt: float | None = None
        self.rtt_from: float | None = None  # when the ping a pong would answer was sent
        self.was_up = False

    # -- connecting ---------------------------------------------------------------------------

    def begin_connect(self) -> int:
        """A connection attempt starts; returns its number."""
        self.conn += 1
        self.state = "connecting"
        self.close_deadline = None
        self.ping_sent_at = None
        return self.conn

    def opened(self, conn: int) -> bool:
        """Attempt `conn` succeeded. False if it is stale (a newer attempt or a close won)."""
        if conn != self.conn or self.state != "connecting":
            return False
        now = self.clock()
        self.state = "connected"
        self.connected_at = now
        self.last_rx = now
        self.ping_sent_at = None
        self.connects += 1
        return True

    def is_current(self, conn: int) -> bool:
        return conn == self.conn and self.state in ("connecting", "connected", "closing")

    # -- traffic ------------------------------------------------------------------------------

    def received(self) -> None:
        """Something came from the peer: it is alive (any frame answers a ping)."""
        self.last_rx = self.clock()
        self.ping_sent_at = None

    def pong(self) -> None:
        """A pong came: the round-trip time of the last heartbeat ping, if one is out."""
        started = self.rtt_from
        if started is not None:
            self.rtt = self.clock() - started
            self.rtt_from = None
        self.received()

    def heartbeat(self, behind: bool) -> Heartbeat:
        """Check the link. `behind`: frames are waiting for ``handle_frame``, so the peer is
        sending and only we are slow; that is never taken for a dead peer."""
        interval = self.ping_interval
        if interval is None or self.state != "connected":
            return Heartbeat(None, None)
        now = self.clock()
        if behind:
            self.received()
            return Heartbeat(None, now + interval)
        sent = self.ping_sent_at
        if sent is not None:
            deadline = sent + (self.ping_timeout or interval)
            if now >= deadline:
                return Heartbeat("dead", None)
            return Heartbeat(None, deadline)
        due = self.last_rx + interval
        if now >= due:
            self.ping_sent_at = now
            self.rtt_from = now
            return Heartbeat("ping", now + (self.ping_timeout or interval))
        return Heartbeat(None, due)

    # -- closing and losing -------------------------------------------------------------------

    def begin_close(self) -> float | None:
        """A polite close starts: returns the deadline for the peer's close frame, or None if
        there is no open connection to close (closing while down is a no-op)."""
        if self.state != "connected":
            return None
        self.state = "closing"
        self.close_deadline = self.clock() + self.close_timeout
        return self.close_deadline

    def lost(self) -> int:
        """The connection (or the attempt) ended; returns the attempt number for the reason.

        A connection that stayed up for ``reset_after`` seconds resets the count first.
        """
        now = self.clock()
        was_up = self.state in ("connected", "closing")
        if was_up:
            self.disconnects += 1
            if (
                self.connected_at is not None
                and now - self.connected_at >= self.backoff.reset_after
            ):
                self.attempt = 0
        self.attempt += 1
        self.was_up = was_up
        self.state = "down"
        self.connected_at = None
        self.close_deadline = None
        self.ping_sent_at = None
        return self.attempt

    def dropped(self) -> None:
        """The client itself dropped the connection to reconnect (a Reconnect result): not a
        failure, so the attempt count stays as it was."""
        was_up = self.state in ("connected", "closing")
        if was_up:
            self.disconnects += 1
        self.was_up = was_up
        self.state = "down"
        self.connected_at = None
        self.close_deadline = None
        self.ping_sent_at = None

    def plan(self, after: float | None, retry_after: float | None) -> Plan:
        """After ``handle_disconnect`` returned Reconnect: when to try again, or give up."""
        limit = self.backoff.max_attempts
        if limit is not None and self.attempt >= limit:
            self.state = "down"
            return Plan(None, self.attempt)
        if after is not None:
            delay = after
        elif self.was_up and self.attempt <= 1:
            delay = self.backoff.drop_delay(self.rng)
        else:
            delay = self.backoff.delay(self.attempt, self.rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        self.state = "backoff"
        return Plan(delay, self.attempt)

    def stay_down(self) -> None:
        """After ``handle_disconnect`` returned Ok: no reconnect until asked."""
        self.state = "down"

    def backoff_done(self, conn: int) -> bool:
        """The backoff timer of attempt `conn` fired: True if it is still the one to act on."""
        return conn == self.conn and self.state == "backoff"
