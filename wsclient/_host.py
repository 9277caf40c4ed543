"""The client's process: the host that runs a :class:`~wsclient.WebsocketClient` subclass.

One process per client. Its helper task (one per connection) dials, then parks in aiohttp's
``receive()`` and hands what it gets to the process, which takes every other frame that aiohttp
has already parsed straight from its buffer, between looks at its mailbox: one mailbox hop per
batch, not per frame. Calls, casts and timers are served between frames; every
``_DRAIN_SLICE`` frames the process yields to the event loop.

The connection's state (attempts, backoff, heartbeat and close deadlines) lives in a
:class:`~wsclient.state.Machine`; every message and timer of a connection carries its number,
so nothing from an old connection can act on a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import Any, ClassVar

import aiohttp
import structlog

import otpy
from otpy import NoReply
from otpy import Stop as OtpyStop
from otpy.behaviour import BehaviourServer, reply_error
from wsclient import _session
from wsclient._messages import (
    Batch,
    Beat,
    CloseDeadline,
    CloseReq,
    ConnectReq,
    DialFailed,
    Drain,
    Opened,
    Retry,
    SendFrames,
    Start,
    StatsReq,
    Wake,
)
from wsclient._redact import Redactor
from wsclient.connection import (
    BINARY,
    CLOSE,
    ERROR,
    PING,
    PONG,
    TEXT,
    ConnectStatus,
    ReaderHook,
    WriteStalled,
    _Refused,
    abort,
    bounded,
    close_frame,
    dial,
    ending,
    fast_reader,
    finish,
    hookable,
    read_now,
    send_close,
    send_frames,
)
from wsclient.errors import NotConnected
from wsclient.frames import (
    Binary,
    CloseFrame,
    Ping,
    Pong,
    Text,
    check_outgoing,
    close_code_error,
)
from wsclient.reasons import (
    ConnectFailed,
    Disconnected,
    GaveUp,
    HandshakeRejected,
    HeartbeatTimeout,
    LocalClosed,
    ProtocolError,
    RemoteClosed,
    TransportError,
)
from wsclient.results import Close, Ok, Reconnect, Reply, Stop
from wsclient.state import Machine
from wsclient.stats import Stats

__all__ = ["ClientHost"]

#: Frames handled in a row before the process yields to the event loop once.
_DRAIN_SLICE = 256
#: While frames are being handled, pings queued behind them are looked for at most this often
#: (seconds): a pong is never later than this, or 16 handler calls, whichever is longer.
_PING_SCAN = 0.1
_ONE_DATA_FRAME = frozenset({Text, Binary})
_SET_TEXT = vars(Text)["data"].__set__  # the slot's descriptor
_SET_BINARY = vars(Binary)["data"].__set__

_CONNECT_RESULTS = "Ok(state), Reply(frames, state), Close(state, ...), Stop(reason, state)"
_DISCONNECT_RESULTS = "Ok(state), Reconnect(state, after=None), Stop(reason, state)"
_FRAME_RESULTS = (
    "Ok(state), Reply(frames, state), Close(state, ...), Reconnect(state, after=None), "
    "Stop(reason, state)"
)


_DATA = frozenset({TEXT, BINARY})
_END = frozenset({CLOSE, ERROR, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING})


async def _observer_close(pid: otpy.Pid) -> None:
    await otpy.call(pid, CloseReq(1000, "closed from the observer"), None)


async def _observer_reconnect(pid: otpy.Pid) -> None:
    await otpy.call(pid, CloseReq(1000, "reconnecting, from the observer"), None)
    await otpy.call(pid, ConnectReq(start=True), None)


class ClientHost(BehaviourServer):
    """The process of one websocket client."""

    #: What otpy.observer's page offers for a client, besides kill/restart/terminate.
    observer_actions: ClassVar[dict[str, Any]] = {
        "close": _observer_close,
        "reconnect": _observer_reconnect,
    }

    # slots: a client's ~35 fields in a dict would cost about 1.8 KiB per client
    __slots__ = (
        "after_close_waiters",
        "beat",
        "buf",
        "bytes_in",
        "bytes_out",
        "clock",
        "close_sent",
        "close_waiters",
        "connect_waiters",
        "connected_since",
        "deadline",
        "dialed",
        "early_pongs",
        "frames_in",
        "frames_out",
        "go",
        "helper",
        "last_disconnect",
        "log",
        "machine",
        "opts",
        "pause",
        "ping_scan_at",
        "post",
        "probe",
        "redactor",
        "retry",
        "retry_at",
        "session",
        "shared",
        "url",
        "write_bound",
        "ws",
    )

    async def init_module(self, arg: Start) -> Any:
        self.url = arg.url
        self.opts = opts = arg.opts
        self.redactor = Redactor(arg.url, opts)
        loop = asyncio.get_running_loop()
        self.clock = loop.time
        self.machine = Machine(
            opts.backoff,
            ping_interval=opts.ping_interval,
            ping_timeout=opts.ping_timeout,
            close_timeout=opts.close_timeout,
            clock=loop.time,
        )
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.dialed: aiohttp.ClientWebSocketResponse | None = None  # sent, not yet taken
        self.buf: Any = None
        self.pause: ReaderHook | None = None  # the fast path's hook on aiohttp's reader
        self.go: asyncio.Event | None = None
        self.helper: asyncio.Task[None] | None = None
        self.beat: otpy.TimerRef | None = None
        self.retry: otpy.TimerRef | None = None
        self.retry_at: float | None = None
        self.deadline: otpy.TimerRef | None = None
        self.close_sent: tuple[int | None, str] = (1000, "")
        self.connect_waiters: list[otpy.From] = []
        self.after_close_waiters: list[otpy.From] = []  # connect() asked while closing
        self.close_waiters: list[otpy.From] = []
        self.frames_in = self.bytes_in = self.frames_out = self.bytes_out = 0
        self.connected_since: float | None = None
        self.last_disconnect: str | None = None
        self.probe = otpy.mailbox_probe()
        self.post = otpy.self_sender()  # for the reader hook, which runs outside any task
        self.early_pongs: set[int] = set()  # ids of buffered pings answered ahead of their turn
        self.ping_scan_at = 0.0
        # A write may wait this long for the socket to drain; longer, and the peer has stopped
        # reading: the connection is dead, as a heartbeat would find (None: the heartbeat is
        # off, and so is this bound).
        self.write_bound = opts.ping_timeout if opts.ping_interval is not None else None
        me = otpy.process_info(self.pid)
        who = me.names[0] if me is not None and me.names else repr(self.pid)
        self.log = structlog.get_logger("wsclient").bind(
            client=who, url=self.url.display, module=type(self.module).__qualname__
        )
        self.shared = opts.session is None
        self.session: aiohttp.ClientSession = (
            _session.acquire() if opts.session is None else opts.session
        )
        self.module._wsclient_log = self.log  # for the module's default callbacks
        ret = await self.module.init(arg.arg)
        if type(ret) is Ok:
            self._connect()
            return otpy.Ok(ret.state)
        if type(ret) is Stop:
            return otpy.Stop(ret.reason, ret.state)
        raise self.bad_return("init", ret, "Ok(state), Stop(reason, state)")

    def exited(self, reason: Any) -> None:
        """However the process ended (a kill included): no socket stays open, and the shared
        session loses a user."""
        for attr in ("ws", "dialed"):
            ws = getattr(self, attr, None)  # (the start may have failed before it was set)
            if ws is not None:
                abort(ws)
        if getattr(self, "shared", False):
            self.shared = False
            _session.release(self.session)

    # -- connecting ---------------------------------------------------------------------------

    def _connect(self) -> None:
        self._cancel(self.retry)
        self.retry = None
        self.retry_at = None
        conn = self.machine.begin_connect()
        self.log.info("ws_connecting", attempt=self.machine.attempt + 1)
        self.go = None
        self.helper = otpy.start_task(
            self._connection(conn), name=f"wsclient connection {conn} of {self.pid!r}"
        )

    async def _connection(self, conn: int) -> None:
        """The connection's helper: dial; without the fast path, hand over what ``receive()``
        gets, one message at a time. Cancelled (its owner exiting, or the connection dropped),
        it drops the socket."""
        ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            try:
                ws, status = await dial(self.session, self.url, self.opts)
            except _Refused as e:
                otpy.send(self.pid, DialFailed(conn, e.reason))
                return
            if hookable(ws):
                # the process reads for itself, woken by its ReaderHook: this task is done.
                # Until the process takes the socket, exited() drops it if the process ends.
                if conn != self.machine.conn:  # given up meanwhile: a newer attempt began
                    abort(ws)
                    return
                self.dialed = ws
                otpy.send(self.pid, Opened(conn, ws, status))
                return
            go = self.go = asyncio.Event()  # set by the process: receive the next one
            otpy.send(self.pid, Opened(conn, ws, status))
            while True:
                await go.wait()  # the process has taken everything: receive the next one
                go.clear()
                msg = await ws.receive()
                otpy.send(self.pid, Batch(conn, msg))
                if msg[0] in _END:
                    await asyncio.Event().wait()  # the owner finishes the close, then cancels
        except BaseException:
            if ws is not None:
                abort(ws)
            raise

    async def _opened(self, msg: Opened, state: Any) -> Any:
        if self.dialed is msg.ws:
            self.dialed = None
        if not self.machine.opened(msg.conn):
            abort(msg.ws)  # an attempt that was given up (closed, or a newer one won)
            return NoReply(state)
        ws = self.ws = msg.ws
        self.buf = buf = fast_reader(ws) if hookable(ws) else None
        if buf is not None:  # else the helper receives
            self.helper = None  # it has ended: let its task go (memory, at 10,000 clients)
            self.pause = ReaderHook(ws, self.opts.max_queue, buf, self.post, Wake(msg.conn))
        self.connected_since = time.time()
        self.log.info("ws_connected", subprotocol=msg.status.subprotocol)
        self._schedule_beat(msg.conn)
        self._listen(msg.conn)
        status: ConnectStatus = msg.status
        for w in self.connect_waiters:
            otpy.reply(w, status)
        self.connect_waiters.clear()
        ret = await self.module.handle_connect(status, state)
        t = type(ret)
        if t is Ok:
            return NoReply(ret.state)
        if t is Reply or t is Close or t is Stop:
            return await self._apply("handle_connect", ret)
        raise self.bad_return("handle_connect", ret, _CONNECT_RESULTS)

    # -- receiving ------------------------------------------------------------------------------

    def _listen(self, conn: int) -> None:
        """Every frame aiohttp had is taken: be woken for the next one. On the fast path the
        hook wakes the process from the socket's callback; otherwise the helper receives."""
        hook = self.pause
        if hook is None:
            if self.go is not None:
                self.go.set()
            return
        if hook.ready():
            self.post(hook.message)  # there is more already: behind what waits in the mailbox
        else:
            hook.armed = True

    async def _wake(self, conn: int, state: Any) -> Any:
        buf = self.buf
        ws = self.ws
        hook = self.pause
        assert ws is not None and buf is not None and hook is not None
        if buf:
            t = buf[0][0][0]
            if t is TEXT or t is BINARY:
                return await self._drain(conn, state)
        if hook.ready():
            m = await read_now(ws)  # a control frame, an error or the end: never waits
            return await self._batch(Batch(conn, m), state)
        hook.armed = True
        return NoReply(state)

    async def _batch(self, msg: Batch, state: Any) -> Any:
        conn = msg.conn
        if self.ws is None or conn != self.machine.conn:
            return NoReply(state)  # from a connection that is gone
        m = msg.msg
        t = m[0]
        self.machine.received()
        pause = self.pause
        if pause is not None and len(self.buf) >= pause.limit:
            pause.check(len(self.buf))  # before a handler that may be slow runs
        if t is TEXT or t is BINARY:
            self.frames_in += 1
            self.bytes_in += len(m[1])
            ret = await self.module.handle_frame(Text(m[1]) if t is TEXT else Binary(m[1]), state)
            if type(ret) is Ok:
                state = ret.state
            else:
                res = await self._apply("handle_frame", ret)
                if type(res) is not NoReply or not self._current(conn):
                    return res
                state = res.state
            return await self._drain(conn, state)
        if t is PING or t is PONG:
            return await self._control(conn, m, state)
        if t is CLOSE:
            return await self._remote_close(conn, m, state)
        if t is ERROR:
            exc = m[1]
            error_code = int(getattr(exc, "code", 1002))
            detail = self.redactor.text(str(exc))
            if self.pause is not None and isinstance(exc, aiohttp.WebSocketError):
                # fail the connection with the error's code (RFC 6455 7.1.7); on the fallback
                # path aiohttp's receive() has sent it
                with contextlib.suppress(ConnectionError, aiohttp.ClientError, WriteStalled):
                    await send_close(self.ws, error_code, "", self.write_bound)
            return await self._lost(ProtocolError(detail, error_code), state)
        # CLOSED or CLOSING: the transport is gone
        if self.machine.state == "closing":
            sent_code, sent_reason = self.close_sent
            return await self._lost(LocalClosed(sent_code, sent_reason), state)
        err = self.ws.exception() if self.ws is not None else None
        if err is None or isinstance(err, aiohttp.ClientConnectionResetError):
            # (aiohttp's own error here is about its failed attempt to answer, not the cause)
            err = ConnectionResetError("the connection ended without a close frame")
        return await self._lost(TransportError(self.redactor.error(err)), state)

    async def _control(self, conn: int, m: Any, state: Any) -> Any:
        ws = self.ws
        assert ws is not None
        data = m[1]
        if m[0] is PING:
            if id(m) in self.early_pongs:  # answered while it waited behind other frames
                self.early_pongs.discard(id(m))
            else:
                try:
                    await bounded(ws.pong(data), self.write_bound)  # before the callback
                except WriteStalled:
                    return await self._stalled(state)
                except (ConnectionError, aiohttp.ClientError) as e:
                    return await self._lost(TransportError(self.redactor.error(e)), state)
                self.frames_out += 1
            frame: Any = Ping(data)
        else:
            self.machine.pong()
            frame = Pong(data)
        self.frames_in += 1
        self.bytes_in += len(data)
        ret = await self.module.handle_frame(frame, state)
        if type(ret) is Ok:
            state = ret.state
        else:
            res = await self._apply("handle_frame", ret)
            if type(res) is not NoReply or not self._current(conn):
                return res
            state = res.state
        return await self._drain(conn, state)

    async def _drain(self, conn: int, state: Any) -> Any:
        """Take the data frames aiohttp has buffered, until a control frame, an empty buffer,
        or a message in the mailbox; then let the helper read on."""
        buf = self.buf
        ws = self.ws
        if buf is None or ws is None:
            self._listen(conn)
            return NoReply(state)
        read = ws._reader.read
        handle_frame = self.module.handle_frame
        probe = self.probe
        pause = self.pause
        limit = self.opts.max_queue
        # frames are built without their __init__ (a Python call): the slot is set directly
        new, set_text, set_binary = object.__new__, _SET_TEXT, _SET_BINARY
        ok_t, text_t, binary_t, text_cls, binary_cls = Ok, TEXT, BINARY, Text, Binary
        reply_t, machine, bound = Reply, self.machine, self.write_bound
        slice_ = _DRAIN_SLICE
        count = 0
        nbytes = 0
        done = True
        try:
            while buf:
                head = buf[0]
                t = head[0][0]
                frame: Any
                if t is text_t:
                    frame = new(text_cls)
                    set_text(frame, (await read())[1])  # never suspends: buf is not empty
                elif t is binary_t:
                    frame = new(binary_cls)
                    set_binary(frame, (await read())[1])
                else:
                    break
                # aiohttp resumes reading on a read below its own bound: pause again before
                # the handler runs (it may await, and let the socket be read), while max_queue
                # frames wait (each socket read is checked too)
                if pause is not None and len(buf) >= limit:
                    pause.check(len(buf))
                nbytes += head[1]
                count += 1
                ret = await handle_frame(frame, state)
                rt = type(ret)
                if rt is ok_t:
                    state = ret.state
                elif (
                    rt is reply_t
                    and type(ret.frames) in _ONE_DATA_FRAME
                    and machine.state == "connected"
                ):  # one frame sent back (an echo, an ack): what _apply does, inline
                    out = check_outgoing(ret.frames)
                    data = out.data
                    try:
                        if type(out) is text_cls:
                            await bounded(ws.send_str(data), bound)
                        else:
                            await bounded(ws.send_bytes(bytes(data)), bound)
                    except (WriteStalled, ConnectionError, aiohttp.ClientError, RuntimeError) as e:
                        done = False
                        return await self._lost(self._write_failure(e), ret.state)
                    self.frames_out += 1
                    self.bytes_out += _size(out)
                    state = ret.state
                else:
                    res = await self._apply("handle_frame", ret)
                    if type(res) is not NoReply or self.ws is not ws:  # (closed, or another)
                        done = False
                        return res
                    state = res.state
                if probe():
                    otpy.send(self.pid, Drain(conn))  # behind the waiting messages
                    done = False
                    return NoReply(state)
                if count & 15:
                    continue
                # every 16 frames: a slow handler must not keep the server's pings waiting
                # behind the frames queued before them: answer those now (they are delivered
                # in turn)
                if self.clock() >= self.ping_scan_at and not await self._answer_queued_pings(
                    ws, buf
                ):
                    done = False
                    return await self._stalled(state)
                if not count % slice_:
                    await asyncio.sleep(0)  # let timers, calls and other clients run
                    if not self._current(conn):
                        done = False
                        return NoReply(state)
        finally:
            self.frames_in += count
            self.bytes_in += nbytes
            if count:
                self.machine.received()
        if done:
            self._listen(conn)
        return NoReply(state)

    async def _answer_queued_pings(self, ws: aiohttp.ClientWebSocketResponse, buf: Any) -> bool:
        """Pong every ping waiting in aiohttp's buffer; False if a write stalled."""
        self.ping_scan_at = self.clock() + _PING_SCAN
        for msg, _size in list(buf):
            if msg[0] is PING and id(msg) not in self.early_pongs:
                self.early_pongs.add(id(msg))
                try:
                    await bounded(ws.pong(msg[1]), self.write_bound)
                except WriteStalled:
                    return False
                except (ConnectionError, aiohttp.ClientError):
                    return True  # the reader will report the broken connection
                self.frames_out += 1
        return True

    def _current(self, conn: int) -> bool:
        return self.ws is not None and conn == self.machine.conn

    # -- closing ----------------------------------------------------------------------------

    async def _remote_close(self, conn: int, m: Any, state: Any) -> Any:
        ws = self.ws
        assert ws is not None
        frame = close_frame(m)
        bad = close_code_error(frame.code) if frame.code != 1005 else None
        if bad is not None:  # a code that may not be on the wire: a protocol error (RFC 7.4)
            with contextlib.suppress(ConnectionError, aiohttp.ClientError, WriteStalled):
                await send_close(ws, 1002, "", self.write_bound)  # the socket is dropped next
            return await self._lost(ProtocolError(bad, 1002), state)
        if self.machine.state == "closing":  # the answer to our close
            code, reason = self.close_sent
            ret = await self._frame_then(frame, state)
            if type(ret) is not NoReply:
                self._drop()
                return ret
            return await self._lost(LocalClosed(code, reason), ret.state)
        # echo it, as RFC 6455 5.5.1 asks (an empty one for an empty one)
        with contextlib.suppress(ConnectionError, aiohttp.ClientError, WriteStalled):
            code = None if frame.code == 1005 else frame.code
            await send_close(ws, code, "", self.write_bound)
        finish(ws)
        ret = await self._frame_then(frame, state)
        if type(ret) is not NoReply:
            self._drop()
            return ret
        return await self._lost(RemoteClosed(frame.code, frame.reason), ret.state)

    async def _frame_then(self, frame: CloseFrame, state: Any) -> Any:
        """Deliver a received close frame to handle_frame; results other than Ok and Stop
        have no connection left to act on (a Reply is logged as not sent)."""
        self.frames_in += 1
        ret = await self.module.handle_frame(frame, state)
        t = type(ret)
        if t is Ok:
            return NoReply(ret.state)
        if t is Stop:
            return OtpyStop(ret.reason, ret.state)
        if t is Reply:
            self.log.warning("ws_reply_not_sent", callback="handle_frame", why="closed")
            return NoReply(ret.state)
        if t is Close or t is Reconnect:
            return NoReply(ret.state)
        raise self.bad_return("handle_frame", ret, _FRAME_RESULTS)

    async def _close(self, code: int, reason: str, state: Any) -> Any:
        """Close politely: send the close frame, then wait at most close_timeout for the
        peer's. Closing while connecting gives the attempt up; closing in backoff stays down;
        closing while down, or a second close, does nothing."""
        m = self.machine
        if m.state == "connected" and self.ws is not None:
            deadline = m.begin_close()
            assert deadline is not None
            self.close_sent = (code, reason)
            self._cancel(self.beat)
            self.beat = None
            try:
                await send_close(self.ws, code, reason, self.write_bound)
            except (ConnectionError, aiohttp.ClientError, WriteStalled):
                return await self._lost(LocalClosed(code, reason), state)
            self.deadline = otpy.send_after(
                self.pid, CloseDeadline(m.conn), max(0.0, deadline - self.clock())
            )
        elif m.state == "connecting":
            return await self._lost(LocalClosed(None, ""), state)
        elif m.state == "backoff":
            self._cancel(self.retry)
            self.retry = None
            self.retry_at = None
            m.stay_down()
            self._answer_close_waiters()
        return NoReply(state)

    def _answer_close_waiters(self) -> None:
        for w in self.close_waiters:
            otpy.reply(w, None)
        self.close_waiters.clear()

    def _drop(self) -> None:
        """Drop the current connection (if any) and everything tied to it."""
        ws = self.ws
        if ws is not None:
            abort(ws)
        self.ws = None
        self.buf = None
        if self.pause is not None:
            self.pause.armed = False  # (the socket's last callbacks must not wake anyone)
        self.pause = None
        if self.helper is not None:
            self.helper.cancel()
            self.helper = None
        self.go = None
        self.early_pongs.clear()
        for t in (self.beat, self.deadline):
            self._cancel(t)
        self.beat = self.deadline = None
        self.connected_since = None

    @staticmethod
    def _cancel(timer: otpy.TimerRef | None) -> None:
        if timer is not None:
            otpy.cancel_timer(timer)

    async def _lost(self, reason: Disconnected, state: Any) -> Any:
        """The connection (or attempt) ended with `reason`: tell the module, act on its answer."""
        self._drop()
        attempt = self.machine.lost()
        reason = dataclasses.replace(reason, attempt=attempt)  # type: ignore[type-var]
        self.last_disconnect = reason.kind
        self.log.info(
            "ws_disconnected",
            kind=reason.kind,
            code=getattr(reason, "code", None),
            attempt=attempt,
        )
        self._answer_close_waiters()
        for w in self.connect_waiters:
            reply_error(w, reason)
        self.connect_waiters.clear()
        ret = await self.module.handle_disconnect(reason, state)
        t = type(ret)
        if self.after_close_waiters and (t is Ok or t is Reconnect):
            # wsclient.connect() came while this connection was closing: connect now
            self.connect_waiters.extend(self.after_close_waiters)
            self.after_close_waiters.clear()
            self.machine.stay_down()
            self._connect()
            return NoReply(ret.state)
        if t is Ok:
            self.machine.stay_down()
            return NoReply(ret.state)
        if t is Reconnect:
            return self._schedule_retry(ret.after, reason, ret.state)
        if t is Stop:
            return OtpyStop(ret.reason, ret.state)
        raise self.bad_return("handle_disconnect", ret, _DISCONNECT_RESULTS)

    def _schedule_retry(self, after: float | None, reason: Any, state: Any) -> Any:
        retry_after = reason.retry_after if type(reason) is HandshakeRejected else None
        plan = self.machine.plan(_checked_after(after), retry_after)
        if plan.delay is None:
            self.log.error("ws_gave_up", attempts=plan.attempt, kind=reason.kind)
            return OtpyStop(GaveUp(reason, plan.attempt), state)
        self.log.info("ws_reconnect_scheduled", delay=round(plan.delay, 3), attempt=plan.attempt)
        self.retry = otpy.send_after(self.pid, Retry(self.machine.conn), plan.delay)
        self.retry_at = time.time() + plan.delay
        return NoReply(state)

    # -- heartbeat ------------------------------------------------------------------------------

    def _schedule_beat(self, conn: int) -> None:
        hb = self.machine.heartbeat(behind=False)
        if hb.next_at is not None:
            self.beat = otpy.send_after(self.pid, Beat(conn), max(0.0, hb.next_at - self.clock()))

    async def _stalled(self, state: Any) -> Any:
        """A write did not drain within its bound: the peer stopped reading, the link is dead."""
        self.log.warning("ws_heartbeat_timeout", why="a write did not drain")
        return await self._lost(HeartbeatTimeout(), state)

    async def _on_beat(self, msg: Beat, state: Any) -> Any:
        self.beat = None
        if not self._current(msg.conn):
            return NoReply(state)
        hb = self.machine.heartbeat(behind=bool(self.buf))
        if hb.action == "dead":
            self.log.warning("ws_heartbeat_timeout", ping_timeout=self.machine.ping_timeout)
            return await self._lost(HeartbeatTimeout(), state)
        if hb.action == "ping":
            assert self.ws is not None
            try:
                await bounded(self.ws.ping(b"wsclient"), self.write_bound)
            except WriteStalled:
                return await self._stalled(state)
            except (ConnectionError, aiohttp.ClientError) as e:
                return await self._lost(TransportError(self.redactor.error(e)), state)
            self.frames_out += 1
        if hb.next_at is not None:
            self.beat = otpy.send_after(
                self.pid, Beat(msg.conn), max(0.0, hb.next_at - self.clock())
            )
        return NoReply(state)

    # -- results ----------------------------------------------------------------------------------

    async def _apply(self, callback: str, ret: Any) -> Any:
        """Act on a module result (not Ok, which callers handle inline)."""
        t = type(ret)
        if t is Ok:
            return NoReply(ret.state)
        if t is Reply:
            frames = ret.frames
            ft = type(frames)
            ws = self.ws
            one = ft is Text or ft is Binary
            if one and ws is not None and self.machine.state == "connected":
                check_outgoing(frames)  # one data frame, the common case: no list, no _send
                try:
                    await self._write(ws, (frames,))
                except _SendFailed as e:
                    return await self._lost(e.reason, ret.state)
                return NoReply(ret.state)
            frames = frames if isinstance(frames, list | tuple) else [frames]
            try:
                close = await self._send(list(frames))
            except NotConnected as e:
                self.log.warning("ws_reply_not_sent", callback=callback, why=e.state)
                return NoReply(ret.state)
            except _SendFailed as e:
                return await self._lost(e.reason, ret.state)
            if close is not None:
                return await self._close(close.code, close.reason, ret.state)
            return NoReply(ret.state)
        if t is Close:
            if ret.abort:
                return await self._abort(ret.state)
            check_outgoing(CloseFrame(ret.code, ret.reason))  # a bad one is the callback's bug
            return await self._close(ret.code, ret.reason, ret.state)
        if t is Reconnect and callback != "handle_connect":
            after = _checked_after(ret.after)
            if self.ws is not None or self.machine.state == "connecting":
                self._drop()
                self.machine.dropped()  # asked for: not a failed attempt
                self.last_disconnect = "reconnect"
                self._answer_close_waiters()  # the connection they wanted closed is gone
            elif self.machine.state == "backoff":
                self._cancel(self.retry)
            plan = self.machine.plan(after, None)
            if plan.delay is None:
                return OtpyStop(GaveUp(LocalClosed(None), plan.attempt), ret.state)
            self.retry = otpy.send_after(self.pid, Retry(self.machine.conn), plan.delay)
            self.retry_at = time.time() + plan.delay
            self.log.info(
                "ws_reconnect_scheduled", delay=round(plan.delay, 3), attempt=plan.attempt
            )
            return NoReply(ret.state)
        if t is Stop:
            return OtpyStop(ret.reason, ret.state)
        allowed = _CONNECT_RESULTS if callback == "handle_connect" else _FRAME_RESULTS
        raise self.bad_return(callback, ret, allowed)

    async def _abort(self, state: Any) -> Any:
        if self.machine.state == "backoff":
            return await self._close(1000, "", state)  # stays down, as a polite close does
        if self.ws is None and self.machine.state != "connecting":
            return NoReply(state)  # nothing to drop
        return await self._lost(LocalClosed(None, ""), state)

    async def _send(self, frames: list[Any]) -> CloseFrame | None:
        """Send frames (a close frame ends the list: it is returned, for the caller to close
        with); NotConnected if there is no open connection, _SendFailed if writing broke it."""
        m = self.machine
        ws = self.ws
        if ws is None or m.state != "connected":
            raise NotConnected(_public_state(m.state))
        if ending(ws):  # the end is there, unread yet: what is written now would be lost
            raise NotConnected("closing")
        data: list[Any] = []
        for f in frames:
            check_outgoing(f)
            if type(f) is CloseFrame:
                if data:
                    await self._write(ws, data)
                return f
            data.append(f)
        if data:
            await self._write(ws, data)
        return None

    async def _write(
        self, ws: aiohttp.ClientWebSocketResponse, frames: list[Any] | tuple[Any, ...]
    ) -> None:
        try:
            await send_frames(ws, frames, self.write_bound)
        except (WriteStalled, ConnectionError, aiohttp.ClientError, RuntimeError) as e:
            raise _SendFailed(self._write_failure(e)) from None
        self.frames_out += len(frames)
        n = 0
        for f in frames:
            n += _size(f)
        self.bytes_out += n

    def _write_failure(self, e: BaseException) -> TransportError | HeartbeatTimeout:
        """The disconnect reason of a write that raised `e`."""
        if isinstance(e, WriteStalled):
            self.log.warning("ws_heartbeat_timeout", why="a write did not drain")
            return HeartbeatTimeout()
        return TransportError(self.redactor.error(e))

    # -- the GenServer callbacks ---------------------------------------------------------------

    async def handle_info(self, msg: Any, state: Any) -> Any:
        t = type(msg)
        if t is Wake:  # first: the message of every burst of frames
            if self.ws is not None and msg.conn == self.machine.conn:
                buf = self.buf
                if buf and buf[0][0][0] in _DATA:  # the common case, without _wake
                    return await self._drain(msg.conn, state)
                return await self._wake(msg.conn, state)
            return NoReply(state)
        if t is Batch:
            return await self._batch(msg, state)
        if t is Drain:
            if self._current(msg.conn):
                return await self._drain(msg.conn, state)
            return NoReply(state)
        if t is Opened:
            return await self._opened(msg, state)
        if t is DialFailed:
            if msg.conn != self.machine.conn or self.machine.state != "connecting":
                return NoReply(state)
            reason = msg.reason
            if type(reason) is ConnectFailed:
                reason = ConnectFailed(self.redactor.error(reason.error))
            return await self._lost(reason, state)
        if t is Retry:
            if self.machine.backoff_done(msg.conn):
                self.retry = None
                self._connect()
            return NoReply(state)
        if t is Beat:
            return await self._on_beat(msg, state)
        if t is CloseDeadline:
            self.deadline = None
            if self._current(msg.conn) and self.machine.state == "closing":
                code, reason = self.close_sent
                self.log.info("ws_close_timeout", close_timeout=self.opts.close_timeout)
                return await self._lost(LocalClosed(code, reason), state)
            return NoReply(state)
        ret = await self.module.handle_info(msg, state)
        if type(ret) is Ok:
            return NoReply(ret.state)
        return await self._apply("handle_info", ret)

    async def handle_cast(self, request: Any, state: Any) -> Any:
        ret = await self.module.handle_cast(request, state)
        if type(ret) is Ok:
            return NoReply(ret.state)
        return await self._apply("handle_cast", ret)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> Any:
        t = type(request)
        if t is SendFrames:
            try:
                close = await self._send(request.frames)
            except NotConnected as e:
                reply_error(from_, e)
                return NoReply(state)
            except _SendFailed as e:
                err = NotConnected("disconnected")
                err.__cause__ = getattr(e.reason, "error", None) or e.reason
                reply_error(from_, err)
                return await self._lost(e.reason, state)
            otpy.reply(from_, None)
            if close is not None:
                return await self._close(close.code, close.reason, state)
            return NoReply(state)
        if t is ConnectReq:
            return self._on_connect_req(request, from_, state)
        if t is CloseReq:
            if self.machine.state in ("connected", "closing", "connecting"):
                self.close_waiters.append(from_)
            else:
                otpy.reply(from_, None)
            return await self._close(request.code, request.reason, state)
        if t is StatsReq:
            otpy.reply(from_, self._stats())
            return NoReply(state)
        ret = await self.module.handle_call(request, from_, state)
        if type(ret) is Ok:
            return NoReply(ret.state)
        return await self._apply("handle_call", ret)

    def _on_connect_req(self, req: ConnectReq, from_: otpy.From, state: Any) -> Any:
        m = self.machine
        if m.state == "connected":
            otpy.reply(from_, None)
        elif m.state == "connecting":
            self.connect_waiters.append(from_)
        elif m.state == "closing" and req.start:
            self.after_close_waiters.append(from_)  # connect once the close is done
        elif req.start:
            self.connect_waiters.append(from_)
            self._connect()
        else:
            reply_error(from_, NotConnected(_public_state(m.state), "wait for a connection"))
        return NoReply(state)

    def observer_status(self) -> Stats:
        """What otpy.observer shows of this client (its URL without credentials)."""
        return self._stats()

    def _stats(self) -> Stats:
        m = self.machine
        return Stats(
            state=m.state,
            url=self.url.display,
            frames_in=self.frames_in,
            bytes_in=self.bytes_in,
            frames_out=self.frames_out,
            bytes_out=self.bytes_out,
            connects=m.connects,
            disconnects=m.disconnects,
            connected_since=self.connected_since,
            attempt=m.attempt,
            rtt=m.rtt,
            last_disconnect=self.last_disconnect,
            next_retry_at=self.retry_at if m.state == "backoff" else None,
        )

    async def terminate(self, reason: Any, state: Any) -> None:
        try:
            ws = self.ws
            if ws is not None and self.machine.state == "connected":
                # an orderly stop says goodbye (1001: going away), without waiting for the answer
                try:
                    await send_close(ws, 1001, "", self.opts.close_timeout)
                    finish(ws)  # flushes the close frame, then closes
                except (ConnectionError, aiohttp.ClientError, WriteStalled):
                    pass
                self.ws = None
            self._drop()
        finally:
            await self.module.terminate(reason, state)


class _SendFailed(Exception):
    def __init__(self, reason: TransportError | HeartbeatTimeout) -> None:
        self.reason = reason


def _size(frame: Any) -> int:
    data = frame.data
    if type(data) is str:
        return len(data) if data.isascii() else len(data.encode())  # isascii: O(1)
    return len(data)


def _checked_after(after: Any) -> float | None:
    if after is None:
        return None
    if isinstance(after, bool) or not isinstance(after, int | float) or not after >= 0:
        raise TypeError(f"Reconnect(after=...) must be seconds >= 0 or None, not {after!r}")
    return float(after)


def _public_state(state: str) -> str:
    return {"down": "disconnected", "backoff": "disconnected"}.get(state, state)
