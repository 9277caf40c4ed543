"""A property test: whatever the server and the user do to a client, in any order, every frame
pushed on a connection that stayed open is delivered once, in order, on that connection; no frame
is ever delivered twice; casts are never lost; the client ends connected, never crashes, and
leaves no helper task behind once stopped.

Hypothesis draws a list of operations; each example runs them in a fresh event loop
(``asyncio.run``) against a fresh test server and client:

* ``push``: the server sends the next numbered Text frame on the client's current connection,
  then the test waits until the client reported that frame;
* ``drop``: the server cuts every connection;
* ``refuse``: the server answers the next handshake with 503;
* ``close_all``: the server closes every connection with 1000;
* ``send``: the client sends a numbered Text frame (NotConnected is allowed, and counted);
* ``cast``: a numbered cast to the client;
* ``close_connect``: ``wsclient.close`` (after which the client is down), then
  ``wsclient.connect`` (which may fail with the 503 of a pending refusal; the client then
  reconnects by itself).

How a push stays sound without sleeping. Every connection the client opens says
``hello <k>`` (``handle_connect`` replies it), and the server's on_message hands the test the
websocket that said it. Before a push, the test waits (on reports from the client and the
server, never on the clock) until the client is connected on its k-th connection and the server
has k's hello; it then writes to that websocket. The only things that end a connection are the
test's own operations, and each of them has happened by then (``drop`` is synchronous, the
others are awaited), so a write that succeeds is a frame on a live connection that stays open:
it must be delivered. A write that fails (the connection was cut by a ``drop`` the client has
not noticed yet) is not a push; the test settles again and pushes the same number.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import otpy
import wsclient
from wsclient import Backoff, Ok, Reconnect, Reply, Text
from wsclient.testing import Server

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)
GUARD = 5.0

OPS = ("push", "drop", "refuse", "close_all", "send", "cast", "close_connect")


@dataclass
class Counts:
    test: otpy.Pid
    conn: int = 0  # connections opened so far
    casts: list[Any] = field(default_factory=list)


class Recorder(wsclient.WebsocketClient):
    """Reports each connection's number, each frame with the connection it came on, each
    disconnect and each cast; reconnects after everything but a local close (the default)."""

    async def init(self, arg: Any) -> Ok:
        return Ok(arg)

    async def handle_connect(self, status: Any, state: Counts) -> Any:
        state.conn += 1
        otpy.send(state.test, ("connect", state.conn))
        return Reply(Text(f"hello {state.conn}"), state)

    async def handle_disconnect(self, reason: Any, state: Counts) -> Any:
        otpy.send(state.test, ("disconnect", state.conn, reason))
        if isinstance(reason, wsclient.LocalClosed):
            return Ok(state)
        return Reconnect(state)

    async def handle_frame(self, frame: Any, state: Counts) -> Any:
        if type(frame) is Text:
            otpy.send(state.test, ("frame", state.conn, int(frame.data)))
        return Ok(state)

    async def handle_cast(self, request: Any, state: Counts) -> Any:
        state.casts.append(request)
        return Ok(state)

    async def handle_call(self, request: Any, from_: otpy.From, state: Counts) -> Any:
        otpy.reply(from_, list(state.casts))
        return Ok(state)


class Run:
    """One example: the client, the server, and what the test saw."""

    def __init__(self, server: Server, pid: otpy.Pid, ref: otpy.Ref) -> None:
        self.server = server
        self.pid = pid
        self.ref = ref
        self.hellos: dict[int, Any] = {}  # connection number -> the server's websocket
        self.delivered: list[tuple[int, int]] = []  # (connection, number), as reported
        self.pushed: list[tuple[int, int]] = []  # (connection, number), as written
        self.disconnects: list[Any] = []

    def note(self, msg: Any) -> None:
        tag = msg[0]
        if tag == "hello":
            self.hellos[msg[1]] = msg[2]
        elif tag == "frame":
            self.delivered.append((msg[1], msg[2]))
        elif tag == "disconnect":
            self.disconnects.append(msg[2])

    async def pump(self) -> None:
        """Take the next report (from the client or the server); fail on the client's exit."""
        msg = await otpy.receive(timeout=GUARD)
        if type(msg) is otpy.Down:
            raise AssertionError(f"the client exited: {msg.reason!r}")
        assert type(msg) is tuple, msg
        self.note(msg)

    async def settle(self) -> tuple[int, Any]:
        """Wait until the client is connected on its k-th connection and the server has k's
        hello; return k and the server's websocket of it."""
        while True:
            stats = await wsclient.stats(self.pid)
            k = stats.connects
            ws = self.hellos.get(k)
            if stats.state == "connected" and ws is not None and not ws.closed:
                return k, ws
            await self.pump()  # something is under way: a hello, a connect or a disconnect

    async def push(self, n: int) -> None:
        while True:
            k, ws = await self.settle()
            try:
                await ws.send_str(str(n))
            except (ConnectionError, RuntimeError):
                await self.pump()  # cut by a drop the client has not noticed yet
                continue
            self.pushed.append((k, n))
            break
        while (k, n) not in self.delivered:
            await self.pump()


async def scenario(ops: list[str]) -> None:
    test = otpy.self_pid()

    def on_message(ws: Any, frame: Any) -> None:
        if type(frame) is Text and frame.data.startswith("hello "):
            otpy.send(test, ("hello", int(frame.data.split()[1]), ws))

    async with Server(on_message=on_message) as server:
        pid = await Recorder.start(server.url, Counts(test), backoff=FAST, ping_interval=None)
        try:
            await run_ops(Run(server, pid, otpy.monitor(pid)), ops)
        finally:
            if otpy.is_alive(pid):
                await otpy.stop(pid)


async def run_ops(run: Run, ops: list[str]) -> None:
    server, pid = run.server, run.pid
    sent_ok = not_connected = 0
    casts: list[Any] = []
    n = 0
    for op in ops:
        if op == "push":
            n += 1
            await run.push(n)
        elif op == "drop":
            server.drop()
        elif op == "refuse":
            server.refuse(503)
        elif op == "close_all":
            await server.close_all(1000)
        elif op == "send":
            try:
                await wsclient.send_frame(pid, Text(f"client {sent_ok + not_connected}"))
            except wsclient.NotConnected as e:
                not_connected += 1
                event(f"send_frame raised NotConnected({e.state!r})")
            else:
                sent_ok += 1
        elif op == "cast":
            casts.append(("note", len(casts)))
            wsclient.cast(pid, casts[-1])
        else:
            await wsclient.close(pid)
            assert (await wsclient.stats(pid)).state == "down"
            try:
                await wsclient.connect(pid, timeout=GUARD)
            except wsclient.HandshakeRejected as e:  # a pending refusal met this attempt
                assert e.status == 503
                event("wsclient.connect met a pending refusal")

    # it ends connected (every refusal is used up by then), and a last push proves it
    n += 1
    await run.push(n)
    assert await wsclient.call(pid, "casts") == casts  # none lost, none twice, in order
    assert (await wsclient.stats(pid)).state == "connected"

    await otpy.stop(pid)
    assert otpy.process_info(pid) is None
    while True:  # every report the client sent before it exited
        try:
            msg = await otpy.receive(timeout=0)
        except otpy.ReceiveTimeout:
            break
        if type(msg) is otpy.Down:
            assert otpy.is_normal_exit(msg.reason), msg.reason
        else:
            run.note(msg)
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() if "wsclient" in t.get_name()] == []

    # every frame pushed was delivered once, in order, on the connection it was pushed on
    assert run.delivered == run.pushed
    numbers = [m for _, m in run.delivered]
    assert numbers == list(range(1, n + 1))
    # the client's own frames: none twice, in the order sent
    mine = [f.data for f in server.received if type(f) is Text and f.data.startswith("client ")]
    assert len(mine) == len(set(mine)) <= sent_ok
    assert mine == sorted(mine, key=lambda s: int(s.split()[1]))
    for reason in run.disconnects:
        assert isinstance(reason, wsclient.Disconnected), reason


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(st.sampled_from(OPS), min_size=1, max_size=12))
def test_frames_are_delivered_once_in_order_whatever_happens(ops: list[str]) -> None:
    asyncio.run(scenario(ops))
