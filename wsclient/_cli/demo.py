"""``wsclient demo``: a supervised tree of feed clients survives what a real feed does to it.

In one process, with no network: a :class:`~wsclient.testing.FeedServer` on 127.0.0.1 and a
supervision tree (``demo`` > ``feeds`` > the clients ``btc``, ``eth`` and ``sol``). Then, one
step at a time, the server restarts, a bad tick crashes a handler, the server goes silent so the
heartbeat fires, and the handshake is answered 503 with Retry-After. The screen shows the live
tree, each reconnect with its delay, and each restart; the end is a summary and a check that
every tick the server sent on a connection reached ``handle_frame`` once and in order. It ends
by itself in about 7 seconds with status 0, or 1 if a step or the check failed; each wait is
guarded, and all of them together by ``DEADLINE``, so that it ends within 30 s whatever
happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import structlog

import otpy
from wsclient import (
    Backoff,
    HandshakeRejected,
    HeartbeatTimeout,
    Ok,
    Reconnect,
    Text,
    WebsocketClient,
)
from wsclient._cli._demo_view import View, make_view
from wsclient._cli._output import Output, configure_logging, describe
from wsclient._cli._signals import until_signal
from wsclient.testing import FeedServer

__all__ = ["Recorder", "Ticker", "run_demo"]

#: The clients: name and the symbol each follows.
CLIENTS = (("btc", "BTC-USD"), ("eth", "ETH-USD"), ("sol", "SOL-USD"))
#: The client whose handler the bad tick crashes.
VICTIM = "eth"
#: Seconds between ticks: 20 a second per client.
TICK = 0.05
#: How long the server stays down in the restart step.
OUTAGE = 1.5
#: The Retry-After of the 503 step, in seconds.
RETRY_AFTER = 1
#: Short timers, so each failure plays out in about a second; a real feed keeps the defaults
#: (``wsclient.Options``): ping after 20 s of silence, wait 20 s more, back off up to 30 s.
CLIENT_OPTIONS: dict[str, Any] = {
    "ping_interval": 0.3,
    "ping_timeout": 0.5,
    "backoff": Backoff(initial=0.2, multiplier=2.0, cap=1.0, after_drop=0.3, reset_after=1.0),
}
_log = structlog.get_logger("wsclient.demo")

#: The guard on each wait: a step that takes longer failed.
STEP_TIMEOUT = 4.0
#: The guard on all the waits together, in seconds from the start.
DEADLINE = 25.0


@dataclass
class ClientRecord:
    """What one client saw, kept outside its process so that it survives restarts."""

    name: str
    symbol: str
    frames: int = 0
    connects: int = 0
    disconnects: int = 0
    restarts: int = 0
    connected: bool = False
    price: float | None = None
    #: The last seq received on each connection (conn id -> seq).
    last_seq: dict[int, int] = field(default_factory=dict)
    #: Ticks that arrived out of order or twice: (conn, expected seq, got seq).
    anomalies: list[tuple[int, int, int]] = field(default_factory=list)
    #: Disconnect reasons by kind, in order.
    reasons: list[str] = field(default_factory=list)
    #: When the next attempt is due (time.time()), while in backoff.
    retry_at: float | None = None


class Recorder:
    """The demo's shared notebook: the clients write to it, the steps wait on it."""

    def __init__(self) -> None:
        self.clients = {name: ClientRecord(name, symbol) for name, symbol in CLIENTS}
        self._changed = asyncio.Event()
        self.deadline = asyncio.get_running_loop().time() + DEADLINE

    def notify(self) -> None:
        self._changed.set()

    async def wait_until(self, pred: Callable[[], bool], timeout: float = STEP_TIMEOUT) -> bool:
        """Wait for `pred` to hold, re-checking at each change; False after `timeout` s, or at
        the demo's deadline."""
        loop = asyncio.get_running_loop()
        deadline = min(loop.time() + timeout, self.deadline)
        while not pred():
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    def tick(self, name: str, tick: dict[str, Any]) -> None:
        rec = self.clients[name]
        conn, seq = int(tick["conn"]), int(tick["seq"])
        expected = rec.last_seq.get(conn, 0) + 1
        if seq != expected:
            rec.anomalies.append((conn, expected, seq))
        rec.last_seq[conn] = max(seq, rec.last_seq.get(conn, 0))
        rec.frames += 1
        self.notify()


@dataclass
class _State:
    name: str
    recorder: Recorder


class Ticker(WebsocketClient):
    """A feed client: counts ticks, and trusts that every tick has a price (so a bad one
    crashes it, as an unguarded handler would)."""

    async def init(self, arg: Any) -> Ok:
        name, recorder = arg
        return Ok(_State(name, recorder))

    async def handle_connect(self, status: Any, state: _State) -> Ok:
        rec = state.recorder.clients[state.name]
        rec.connects += 1
        rec.connected = True
        rec.retry_at = None
        state.recorder.notify()
        return Ok(state)

    async def handle_frame(self, frame: Any, state: _State) -> Ok:
        if type(frame) is Text:
            tick = json.loads(frame.data)
            state.recorder.tick(state.name, tick)
            rec = state.recorder.clients[state.name]
            rec.price = float(tick["price"])  # a tick with "price": null raises here
        return Ok(state)

    async def handle_disconnect(self, reason: Any, state: _State) -> Reconnect:
        rec = state.recorder.clients[state.name]
        rec.disconnects += 1
        rec.connected = False
        rec.reasons.append(reason.kind)
        _log.info("demo_disconnected", client=state.name, reason=describe(reason))
        state.recorder.notify()
        return Reconnect(state)


def _sink(recorder: Recorder, view: View) -> Callable[..., Any]:
    """The structlog processor of the demo: every event to the view, nothing printed raw."""

    def sink(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
        name = event.get("event")
        who = event.get("client") or event.get("child_id") or event.get("name")
        rec = recorder.clients.get(str(who)) if who is not None else None
        if name == "ws_reconnect_scheduled" and rec is not None:
            rec.retry_at = time.time() + float(event.get("delay", 0))
        elif name == "child_restarted" and rec is not None:
            rec.restarts += 1
        recorder.notify()
        view.log_event(event)
        raise structlog.DropEvent

    return sink


def _client_conf(feed: FeedServer, name: str, symbol: str, recorder: Recorder) -> dict[str, Any]:
    url = feed.url_for(symbol, client=name)
    return {"url": url, "arg": (name, recorder), "name": name, **CLIENT_OPTIONS}


@dataclass
class Step:
    title: str
    ok: bool = False
    seconds: float = 0.0


async def run_demo(output: Output, observe: int | None = None) -> int:
    """Run the demo; return the exit status. `observe`: also run ``otpy.observer`` on this
    port (0: any free one), print its address, and keep the tree running after the script
    until Ctrl-C, so that it can be looked at."""
    recorder = Recorder()
    view = make_view(output, recorder)
    configure_logging(output, sink=_sink(recorder, view))
    began = time.monotonic()
    feed = FeedServer(interval=TICK)
    await feed.start()
    children = [
        Ticker.child_spec(_client_conf(feed, name, symbol, recorder), id=name)
        for name, symbol in CLIENTS
    ]
    feeds = otpy.Supervisor.child_spec(
        children, id="feeds", name="feeds", max_restarts=10, max_seconds=10
    )
    tree_children: list[Any] = [feeds]
    if observe is not None:
        from otpy.observer import Observer

        tree_children.append(Observer.child_spec(port=observe, print_url=False))
    was_trapping = otpy.trap_exits(True)
    try:
        root = await otpy.Supervisor.start_link(
            tree_children, name="demo", max_restarts=3, max_seconds=5
        )
    except BaseException:
        await feed.stop()
        otpy.trap_exits(was_trapping)
        raise
    assert root is not None
    view.attach(root)
    steps: list[Step] = []
    try:
        if observe is not None:
            await _announce_observer(view)
        async with view:
            for title, action in _script(feed, recorder):
                step = Step(title)
                steps.append(step)
                view.step(len(steps), len(_STEP_TITLES), title)
                t0 = time.monotonic()
                step.ok = await action(view)
                step.seconds = time.monotonic() - t0
                view.step_done(step.ok, step.seconds)
                if not step.ok:
                    break
            verdict = _check(feed, recorder) if all(s.ok for s in steps) else None
            tree = await otpy.format_tree(root)
        passed = verdict is not None and verdict.passed and len(steps) == len(_STEP_TITLES)
        view.summary(tree, steps, verdict, time.monotonic() - began, passed)
        if observe is not None:
            feed.play()
            await _announce_observer(view, keep_running=True)
    finally:
        with contextlib.suppress(otpy.NoProcess):
            await otpy.stop(root, "shutdown")
        await feed.stop()
        otpy.trap_exits(was_trapping)
    return 0 if passed else 1


async def _announce_observer(view: View, keep_running: bool = False) -> None:
    """Say where the observer's page is; with `keep_running`, wait for Ctrl-C or SIGTERM."""
    from otpy.observer import observer_url

    try:
        url = await observer_url()
    except otpy.NoProcess:
        view.message("the observer did not start (see the events): no page to show")
        return
    if not keep_running:
        view.message(f"observer: {url}")
        return
    view.message(f"the tree keeps running for the observer at {url}; Ctrl-C to stop")
    await until_signal()


# -- the script -----------------------------------------------------------------------------

_STEP_TITLES = (
    "the tree starts and subscribes",
    "the server restarts",
    "a bad tick crashes a handler",
    "the server goes silent",
    "the handshake is answered 503 with Retry-After",
    "the feed pauses and everything sent is counted",
)


def _script(feed: FeedServer, rec: Recorder) -> list[tuple[str, Callable[[View], Awaitable[bool]]]]:
    clients = rec.clients.values()

    def all_flowing(since: dict[str, int], ticks: int = 5) -> Callable[[], bool]:
        # every client connected again, with `ticks` ticks on its new connection
        def pred() -> bool:
            for c in clients:
                sub = feed.open_subscription(c.name)
                if not (c.connected and c.connects > since[c.name] and sub is not None):
                    return False
                if c.last_seq.get(sub.conn, 0) < ticks:
                    return False
            return True

        return pred

    def connects() -> dict[str, int]:
        return {c.name: c.connects for c in clients}

    async def start(view: View) -> bool:
        return await view.wait(rec, all_flowing(dict.fromkeys(rec.clients, 0), 10), "ticks")

    async def restart(view: View) -> bool:
        before = connects()
        await feed.stop()
        view.note(f"the server is down for {OUTAGE:g} s; the clients back off and retry")
        down = await view.wait(rec, lambda: not any(c.connected for c in clients), "drops")
        await asyncio.sleep(OUTAGE)  # the outage itself, not a wait for an event
        await feed.start()
        view.note("the server is back on the same port")
        return down and await view.wait(rec, all_flowing(before), "every client back")

    async def crash(view: View) -> bool:
        before = connects()
        restarts = rec.clients[VICTIM].restarts
        if not await feed.send_bad_tick(VICTIM):
            return False
        view.note(f'the server sends {VICTIM} a tick with "price": null')
        crashed = await view.wait(
            rec, lambda: rec.clients[VICTIM].restarts > restarts, f"{VICTIM} restarted"
        )
        others = {name: n - 1 for name, n in before.items() if name != VICTIM}
        return crashed and await view.wait(
            rec, all_flowing({**others, VICTIM: before[VICTIM]}), f"{VICTIM} back"
        )

    async def silent(view: View) -> bool:
        before = connects()
        marks = {c.name: len(c.reasons) for c in clients}
        feed.go_silent()
        view.note("the server keeps the connections open and stops answering, pings included")
        fired = await view.wait(
            rec,
            lambda: all(HeartbeatTimeout.kind in c.reasons[marks[c.name] :] for c in clients),
            "the heartbeat of every client",
        )
        feed.resume()
        view.note("the server answers again")
        return fired and await view.wait(rec, all_flowing(before), "every client back")

    async def refused(view: View) -> bool:
        before = connects()
        marks = {c.name: len(c.reasons) for c in clients}
        feed.refuse(503, {"Retry-After": str(RETRY_AFTER)}, times=len(rec.clients))
        feed.drop()
        view.note(f"connections cut; the next handshakes get 503, Retry-After: {RETRY_AFTER}")
        rejected = await view.wait(
            rec,
            lambda: all(HandshakeRejected.kind in c.reasons[marks[c.name] :] for c in clients),
            "every client refused",
        )
        return rejected and await view.wait(rec, all_flowing(before), "every client back")

    async def settle(view: View) -> bool:
        view.note("a second of steady ticks on every client's last connection")
        steady = await view.wait(rec, all_flowing(dict.fromkeys(rec.clients, 0), 20), "ticks")
        feed.pause()
        view.note("no more ticks: waiting for every tick sent to be handled")

        def drained() -> bool:
            for c in clients:
                sub = feed.open_subscription(c.name)
                if sub is None or c.last_seq.get(sub.conn, 0) != sub.sent:
                    return False
            return True

        return steady and await view.wait(rec, drained, "the last ticks")

    actions = [start, restart, crash, silent, refused, settle]
    return list(zip(_STEP_TITLES, actions, strict=True))


# -- the no-loss check ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The no-loss check. `final`: (client, received, sent) on each client's last connection,
    which must match; `cut_in_flight`: ticks written to connections that were then cut (or
    whose process crashed) and never handled; `anomalies`: ticks out of order or repeated."""

    final: list[tuple[str, int, int]]
    connections: int
    sent_total: int
    cut_in_flight: int
    anomalies: list[str]

    @property
    def passed(self) -> bool:
        return not self.anomalies and all(r == s for _, r, s in self.final)


def _check(feed: FeedServer, rec: Recorder) -> Verdict:
    final: list[tuple[str, int, int]] = []
    in_flight = 0
    anomalies: list[str] = []
    for r in rec.clients.values():
        anomalies += [f"{r.name}: conn {n} expected tick {e}, got {g}" for n, e, g in r.anomalies]
    for sub in feed.subscriptions:
        c = rec.clients.get(sub.client or "")
        if c is None:
            continue
        got = c.last_seq.get(sub.conn, 0)
        if got > sub.sent:
            anomalies.append(f"{c.name}: conn {sub.conn} handled {got} ticks of {sub.sent} sent")
        if sub.open:
            final.append((c.name, got, sub.sent))
        else:
            in_flight += sub.sent - got
    return Verdict(
        final, len(feed.subscriptions), sum(s.sent for s in feed.subscriptions), in_flight,
        anomalies,
    )  # fmt: skip
