"""The sans-I/O state machine (wsclient.state.Machine) on a fake clock and a seeded random
generator, and the backoff policy (wsclient.backoff)."""

from __future__ import annotations

import email.utils
import math
import random
from typing import Any

import pytest

from wsclient import Backoff, InvalidOption
from wsclient.backoff import parse_retry_after
from wsclient.state import Heartbeat, Machine


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


SEED = 1234


def machine(
    clock: Clock,
    backoff: Backoff | None = None,
    *,
    ping_interval: float | None = 10.0,
    ping_timeout: float | None = 5.0,
    close_timeout: float = 3.0,
) -> Machine:
    return Machine(
        backoff or Backoff(),
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
        clock=clock,
        rng=random.Random(SEED),
    )


def connected(clock: Clock, backoff: Backoff | None = None, **kw: Any) -> Machine:
    m = machine(clock, backoff, **kw)
    assert m.opened(m.begin_connect())
    return m


def fail_attempt(m: Machine) -> int:
    m.begin_connect()
    return m.lost()


# -- stale connection numbers -------------------------------------------------------------------


def test_a_stale_attempt_opening_is_ignored() -> None:
    m = machine(Clock())
    old = m.begin_connect()
    new = m.begin_connect()  # a newer attempt won
    assert not m.opened(old)
    assert m.state == "connecting" and m.connects == 0
    assert m.opened(new)
    assert m.state == "connected" and m.connects == 1


def test_an_attempt_opening_after_a_close_gave_it_up_is_ignored() -> None:
    m = machine(Clock())
    conn = m.begin_connect()
    m.lost()
    m.stay_down()
    assert not m.opened(conn)
    assert m.state == "down"


def test_a_stale_backoff_timer_is_ignored() -> None:
    m = machine(Clock(), Backoff(initial=0.1))
    m.begin_connect()
    m.lost()
    m.plan(None, None)
    old = m.conn
    assert m.state == "backoff"
    m.begin_connect()  # e.g. wsclient.connect while in backoff
    m.lost()
    m.plan(None, None)
    assert not m.backoff_done(old)
    assert m.backoff_done(m.conn)


def test_a_backoff_timer_after_the_client_stayed_down_is_ignored() -> None:
    m = machine(Clock())
    m.begin_connect()
    m.lost()
    m.plan(None, None)
    m.stay_down()  # a close in backoff
    assert not m.backoff_done(m.conn)


def test_is_current_only_for_the_live_attempt() -> None:
    m = machine(Clock())
    first = m.begin_connect()
    assert m.is_current(first)
    second = m.begin_connect()
    assert not m.is_current(first) and m.is_current(second)
    m.lost()
    assert not m.is_current(second)


# -- closing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["down", "connecting", "backoff"])
def test_closing_without_an_open_connection_returns_no_deadline(where: str) -> None:
    m = machine(Clock())
    if where != "down":
        m.begin_connect()
    if where == "backoff":
        m.lost()
        m.plan(None, None)
    assert m.begin_close() is None
    assert m.state == where and m.close_deadline is None


def test_begin_close_sets_the_deadline_close_timeout_from_now() -> None:
    clock = Clock()
    m = connected(clock, close_timeout=3.0)
    clock.advance(7.5)
    assert m.begin_close() == pytest.approx(1007.5 + 3.0)
    assert m.state == "closing" and m.close_deadline == pytest.approx(1010.5)


def test_a_second_close_returns_no_new_deadline() -> None:
    clock = Clock()
    m = connected(clock)
    first = m.begin_close()
    clock.advance(1.0)
    assert m.begin_close() is None
    assert m.close_deadline == first


# -- losing and attempts ------------------------------------------------------------------------


def test_failed_attempts_count_up() -> None:
    m = machine(Clock())
    assert [fail_attempt(m) for _ in range(3)] == [1, 2, 3]
    assert m.attempt == 3 and m.disconnects == 0


def test_a_connection_that_stayed_up_reset_after_resets_the_count() -> None:
    clock = Clock()
    m = machine(clock, Backoff(reset_after=30.0))
    for _ in range(3):
        fail_attempt(m)
    assert m.opened(m.begin_connect())
    clock.advance(30.0)
    assert m.lost() == 1
    assert m.disconnects == 1


def test_a_connection_that_dropped_before_reset_after_keeps_counting() -> None:
    clock = Clock()
    m = machine(clock, Backoff(reset_after=30.0))
    for _ in range(3):
        fail_attempt(m)
    assert m.opened(m.begin_connect())
    clock.advance(29.9)
    assert m.lost() == 4


def test_lost_clears_the_close_deadline_and_the_ping() -> None:
    clock = Clock()
    m = connected(clock)
    clock.advance(10.0)
    assert m.heartbeat(behind=False).action == "ping"
    m.begin_close()
    m.lost()
    assert m.state == "down" and m.close_deadline is None and m.ping_sent_at is None


# -- plan ---------------------------------------------------------------------------------------


def test_plan_uses_an_explicit_after() -> None:
    m = machine(Clock(), Backoff(initial=100.0, cap=100.0))
    fail_attempt(m)
    plan = m.plan(0.25, None)
    assert plan.delay == 0.25 and plan.attempt == 1 and not plan.gave_up
    assert m.state == "backoff"


def test_the_first_drop_after_being_up_uses_the_after_drop_window() -> None:
    backoff = Backoff(initial=100.0, cap=100.0, after_drop=0.5)
    m = connected(Clock(), backoff)
    assert m.lost() == 1
    plan = m.plan(None, None)
    assert plan.delay == random.Random(SEED).uniform(0.0, 0.5)
    assert plan.delay is not None and 0.0 <= plan.delay <= 0.5


def test_a_failed_first_attempt_uses_the_initial_window_not_after_drop() -> None:
    backoff = Backoff(initial=8.0, cap=100.0, after_drop=0.001)
    m = machine(Clock(), backoff)
    fail_attempt(m)
    plan = m.plan(None, None)
    assert plan.delay == random.Random(SEED).uniform(4.0, 8.0)


def test_later_attempts_use_the_growing_window() -> None:
    backoff = Backoff(initial=1.0, multiplier=2.0, cap=100.0)
    m = machine(Clock(), backoff)
    rng = random.Random(SEED)
    for attempt in (1, 2, 3, 4):
        assert fail_attempt(m) == attempt
        window = 2.0 ** (attempt - 1)
        assert m.plan(None, None).delay == rng.uniform(window / 2, window)


def test_retry_after_sets_a_floor_under_the_delay() -> None:
    m = machine(Clock(), Backoff(initial=1.0, cap=1.0))
    fail_attempt(m)
    assert m.plan(None, 7.0).delay == 7.0
    fail_attempt(m)
    assert m.plan(0.5, 7.0).delay == 7.0  # under an explicit after too


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    m = machine(Clock(), Backoff(initial=1.0, cap=1.0))
    fail_attempt(m)
    assert m.plan(5.0, 0.0).delay == 5.0


def test_max_attempts_gives_up() -> None:
    m = machine(Clock(), Backoff(initial=0.1, max_attempts=3))
    for attempt in (1, 2):
        fail_attempt(m)
        plan = m.plan(None, None)
        assert not plan.gave_up and plan.attempt == attempt
    fail_attempt(m)
    plan = m.plan(None, None)
    assert plan.gave_up and plan.delay is None and plan.attempt == 3
    assert m.state == "down"


# -- heartbeat ----------------------------------------------------------------------------------


def test_no_ping_before_ping_interval_of_silence() -> None:
    clock = Clock()
    m = connected(clock)
    clock.advance(9.99)
    assert m.heartbeat(behind=False) == Heartbeat(None, pytest.approx(1010.0))
    assert m.ping_sent_at is None


def test_traffic_pushes_the_ping_back() -> None:
    clock = Clock()
    m = connected(clock)
    clock.advance(8.0)
    m.received()
    clock.advance(8.0)  # 16 s after opening, 8 s of silence
    assert m.heartbeat(behind=False) == Heartbeat(None, pytest.approx(1018.0))


def test_a_ping_at_the_interval() -> None:
    clock = Clock()
    m = connected(clock)
    clock.advance(10.0)
    assert m.heartbeat(behind=False) == Heartbeat("ping", pytest.approx(1015.0))
    assert m.ping_sent_at == pytest.approx(1010.0)


def test_dead_at_ping_timeout_after_the_ping() -> None:
    clock = Clock()
    m = connected(clock)
    clock.advance(10.0)
    assert m.heartbeat(behind=False).action == "ping"
    clock.advance(4.99)
    assert m.heartbeat(behind=False) == Heartbeat(None, pytest.approx(1015.0))
    clock.advance(0.01)
    assert m.heartbeat(behind=False) == Heartbeat("dead", None)


def test_received_after_a_ping_clears_it_without_taking_it_for_the_pong() -> None:
    clock = Clock()
    m = connected(clock)
    clock.advance(10.0)
    m.heartbeat(behind=False)
    clock.advance(0.1)
    m.received()  # any frame shows the peer alive ...
    assert m.ping_sent_at is None and m.rtt is None  # ... but only a pong measures the rtt
    clock.advance(0.15)
    m.pong()
    assert m.rtt == pytest.approx(0.25)


def test_a_pong_after_a_ping_clears_it_and_records_the_rtt() -> None:
    clock = Clock()
    m = connected(clock)
    clock.advance(10.0)
    m.heartbeat(behind=False)
    clock.advance(0.25)
    m.pong()
    assert m.ping_sent_at is None and m.rtt == pytest.approx(0.25)
    clock.advance(5.0)  # past the old ping's deadline: not dead, the ping was answered
    assert m.heartbeat(behind=False) == Heartbeat(None, pytest.approx(1020.25))


def test_behind_is_never_taken_for_dead() -> None:
    clock = Clock()
    m = connected(clock)
    clock.advance(10.0)
    assert m.heartbeat(behind=False).action == "ping"
    for _ in range(5):
        clock.advance(100.0)  # far past every deadline, but frames wait for handle_frame
        hb = m.heartbeat(behind=True)
        assert hb.action is None and hb.next_at == pytest.approx(clock.now + 10.0)


def test_ping_timeout_none_uses_the_interval() -> None:
    clock = Clock()
    m = connected(clock, ping_interval=4.0, ping_timeout=None)
    clock.advance(4.0)
    assert m.heartbeat(behind=False) == Heartbeat("ping", pytest.approx(1008.0))
    clock.advance(4.0)
    assert m.heartbeat(behind=False).action == "dead"


def test_no_heartbeat_without_ping_interval_or_connection() -> None:
    clock = Clock()
    off = connected(clock, ping_interval=None, ping_timeout=None)
    clock.advance(1e6)
    assert off.heartbeat(behind=False) == Heartbeat(None, None)
    down = machine(clock)
    assert down.heartbeat(behind=False) == Heartbeat(None, None)


# -- Backoff ------------------------------------------------------------------------------------


def test_the_window_grows_by_the_multiplier_up_to_the_cap() -> None:
    b = Backoff(initial=0.5, multiplier=2.0, cap=30.0)
    assert [b.window(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert b.window(0) == 0.0
    assert b.window(10**9) == 30.0  # no overflow for a huge attempt


def test_a_multiplier_of_one_keeps_the_window_flat() -> None:
    b = Backoff(initial=3.0, multiplier=1.0, cap=30.0)
    assert {b.window(n) for n in range(1, 20)} == {3.0}


def test_the_delay_is_within_the_upper_half_of_the_window() -> None:
    b = Backoff(initial=0.5, multiplier=3.0, cap=10.0)
    rng = random.Random(SEED)
    for attempt in range(1, 12):
        w = b.window(attempt)
        delays = [b.delay(attempt, rng) for _ in range(200)]
        assert all(w / 2 <= d <= w for d in delays)
        assert min(delays) < w * 0.6 and max(delays) > w * 0.9  # spread over that half


def test_the_drop_delay_is_within_after_drop() -> None:
    b = Backoff(after_drop=0.2)
    rng = random.Random(SEED)
    delays = [b.drop_delay(rng) for _ in range(200)]
    assert all(0.0 <= d <= 0.2 for d in delays) and max(delays) > 0.1


@pytest.mark.parametrize(
    "fields",
    [
        {"initial": -1.0},
        {"initial": "1"},
        {"initial": True},
        {"cap": math.inf},
        {"after_drop": math.nan},
        {"reset_after": -0.1},
        {"multiplier": 0.5},
        {"multiplier": math.nan},
        {"multiplier": False},
        {"max_attempts": 0},
        {"max_attempts": 1.5},
        {"max_attempts": True},
    ],
    ids=lambda f: "-".join(f"{k}={v!r}" for k, v in f.items()),
)
def test_a_bad_field_raises_invalid_option(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidOption) as info:
        Backoff(**fields)
    assert next(iter(fields)) in str(info.value)


def test_parse_retry_after_reads_delta_seconds() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 120 ") == 120.0


def test_parse_retry_after_reads_an_http_date_in_the_future() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30.0, abs=1.0)


def test_parse_retry_after_reads_an_http_date_in_the_past_as_zero() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Thu, 99 Foo 2024"])
def test_parse_retry_after_returns_none_for_garbage(value: Any) -> None:
    assert parse_retry_after(value) is None
