"""WebsocketClient: the behaviour users subclass, and the functions that talk to a client.

A client is one process (see :mod:`wsclient._host`) that connects, reconnects by its backoff
policy, keeps a heartbeat, and calls the subclass's callbacks:

=====================================  =============================================================
callback                               may return
=====================================  =============================================================
``init(arg)``                          ``Ok(state)``: start, and connect · ``Stop(reason, state)``:
                                       do not start (``start_link`` raises StartError)
``handle_connect(status, state)``      ``Ok`` · ``Reply(frames, state)``: send, e.g. a subscription
                                       · ``Close(state, ...)`` · ``Stop``
``handle_disconnect(reason, state)``   ``Ok(state)``: stay down until ``wsclient.connect`` ·
                                       ``Reconnect(state, after=None)``: connect again after
                                       `after` s, or when the backoff policy says · ``Stop``
``handle_frame(frame, state)``         ``Ok`` · ``Reply`` · ``Close(state, code, reason)``: close
``handle_cast(request, state)``        politely · ``Close(state, abort=True)``: drop the socket ·
``handle_info(msg, state)``            ``Reconnect(state, after=None)``: drop this connection and
``handle_call(request, from_, state)`` connect again · ``Stop(reason, state)``: end the process
``terminate(reason, state)``           ignored
=====================================  =============================================================

``handle_call`` answers with ``otpy.reply(from_, value)``. Any other return value crashes the
client with :class:`otpy.BadReturn` naming the class, the callback and the value.

Defaults: ``init`` returns ``Ok(None)``, as the original; ``handle_connect``, ``handle_frame``
and ``handle_info`` return ``Ok(state)``; ``handle_cast`` logs ``ws_unhandled_cast`` and returns
``Ok(state)``; ``handle_call`` fails the caller with :class:`otpy.Unhandled`; and
``handle_disconnect`` reconnects after every kind of disconnect except a local close, after
which the client stays down.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import structlog

import otpy
from otpy.behaviour import Behaviour, reply_error
from wsclient._host import ClientHost
from wsclient._messages import CloseReq, ConnectReq, SendFrames, Start, StatsReq
from wsclient.connection import ConnectStatus
from wsclient.errors import InvalidOption
from wsclient.frames import CloseFrame, check_outgoing
from wsclient.options import parse_options
from wsclient.reasons import Disconnected, LocalClosed
from wsclient.results import ConnectResult, DisconnectResult, FrameResult, Ok, Reconnect
from wsclient.stats import Stats
from wsclient.url import parse_url

__all__ = [
    "WebsocketClient",
    "call",
    "cast",
    "child_spec",
    "close",
    "connect",
    "send_frame",
    "start",
    "start_link",
    "stats",
]

cast = otpy.cast

_CHILD_KEYS = ("id", "restart", "shutdown")


class WebsocketClient(Behaviour):
    """Subclass it and override the callbacks you need (see the module docstring)."""

    callbacks: ClassVar[tuple[str, ...]] = (
        "init",
        "handle_connect",
        "handle_disconnect",
        "handle_frame",
        "handle_cast",
        "handle_info",
        "handle_call",
        "terminate",
    )

    async def init(self, arg: Any) -> Ok | Any:
        """Set up the state from `arg`, before the first connection.

        ========================  ===========================================================
        return                    what the client does
        ========================  ===========================================================
        ``Ok(state)``             start, and connect
        ``Stop(reason, state)``   do not start: ``start_link`` raises StartError(`reason`)
        ========================  ===========================================================

        Default: ``Ok(None)``, as the original.
        """
        return Ok(None)

    async def handle_connect(self, status: ConnectStatus, state: Any) -> ConnectResult:
        """A connection opened (``status.status`` 101, ``.headers``, ``.subprotocol``...).

        ===============================  ======================================================
        return                           what the client does
        ===============================  ======================================================
        ``Ok(state)``                    carry on
        ``Reply(frames, state)``         send them (a subscription, say)
        ``Close(state, ...)``            close it again (politely, or ``abort=True``)
        ``Stop(reason, state)``          run ``terminate``, exit with `reason`
        ===============================  ======================================================

        Default: ``Ok(state)``.
        """
        return Ok(state)

    async def handle_disconnect(self, reason: Disconnected, state: Any) -> DisconnectResult:
        """The connection (or the attempt) ended with `reason` (see ``wsclient.reasons``).

        ===============================  ======================================================
        return                           what the client does
        ===============================  ======================================================
        ``Ok(state)``                    stay down until ``wsclient.connect``
        ``Reconnect(state, after=None)`` connect again after `after` seconds, or when the
                                         backoff policy says (None); at ``max_attempts``
                                         failures in a row, exit with ``GaveUp``
        ``Stop(reason, state)``          run ``terminate``, exit with `reason`
        ===============================  ======================================================

        Default: ``Reconnect(state)`` after every reason but a local close (``LocalClosed``),
        after which the client stays down.
        """
        if isinstance(reason, LocalClosed):
            return Ok(state)
        return Reconnect(state)

    async def handle_frame(self, frame: Any, state: Any) -> FrameResult:
        """A frame arrived: Text, Binary, Ping (already answered), Pong or CloseFrame. For a
        CloseFrame the connection is already ending: only ``Ok`` and ``Stop`` act on it, and
        ``handle_disconnect`` comes next.

        ===============================  ======================================================
        return                           what the client does
        ===============================  ======================================================
        ``Ok(state)``                    carry on
        ``Reply(frames, state)``         send a frame or a list of frames, in order; with no
                                         open connection, log ``ws_reply_not_sent``
        ``Close(state, code, reason)``   send a close frame, wait at most ``close_timeout``
                                         for the server's, drop the socket
        ``Close(state, abort=True)``     drop the socket now, no close frame
        ``Reconnect(state, after=None)`` drop this connection; connect again after `after`
                                         seconds (None: the short ``after_drop`` window)
        ``Stop(reason, state)``          run ``terminate``, exit with `reason`
        ===============================  ======================================================

        Default: ``Ok(state)``.
        """
        return Ok(state)

    async def handle_cast(self, request: Any, state: Any) -> FrameResult:
        """A ``wsclient.cast`` arrived.

        ===============================  ======================================================
        return                           what the client does
        ===============================  ======================================================
        ``Ok(state)``                    carry on
        ``Reply(frames, state)``         send a frame or a list of frames, in order; with no
                                         open connection, log ``ws_reply_not_sent``
        ``Close(state, code, reason)``   send a close frame, wait at most ``close_timeout``
                                         for the server's, drop the socket
        ``Close(state, abort=True)``     drop the socket now, no close frame
        ``Reconnect(state, after=None)`` drop this connection; connect again after `after`
                                         seconds (None: the short ``after_drop`` window)
        ``Stop(reason, state)``          run ``terminate``, exit with `reason`
        ===============================  ======================================================

        Default: log ``ws_unhandled_cast`` (warning) and carry on.
        """
        log = getattr(self, "_wsclient_log", None) or structlog.get_logger("wsclient")
        log.warning("ws_unhandled_cast", request=repr(request))
        return Ok(state)

    async def handle_info(self, msg: Any, state: Any) -> FrameResult:
        """Any other message (the client's own messages and timers never reach it).

        ===============================  ======================================================
        return                           what the client does
        ===============================  ======================================================
        ``Ok(state)``                    carry on
        ``Reply(frames, state)``         send a frame or a list of frames, in order; with no
                                         open connection, log ``ws_reply_not_sent``
        ``Close(state, code, reason)``   send a close frame, wait at most ``close_timeout``
                                         for the server's, drop the socket
        ``Close(state, abort=True)``     drop the socket now, no close frame
        ``Reconnect(state, after=None)`` drop this connection; connect again after `after`
                                         seconds (None: the short ``after_drop`` window)
        ``Stop(reason, state)``          run ``terminate``, exit with `reason`
        ===============================  ======================================================

        Default: ``Ok(state)``.
        """
        return Ok(state)

    async def handle_call(self, request: Any, from_: otpy.From, state: Any) -> FrameResult:
        """A ``wsclient.call``; answer it with ``otpy.reply(from_, value)`` (now or later).

        ===============================  ======================================================
        return                           what the client does
        ===============================  ======================================================
        ``Ok(state)``                    carry on
        ``Reply(frames, state)``         send a frame or a list of frames, in order; with no
                                         open connection, log ``ws_reply_not_sent``
        ``Close(state, code, reason)``   send a close frame, wait at most ``close_timeout``
                                         for the server's, drop the socket
        ``Close(state, abort=True)``     drop the socket now, no close frame
        ``Reconnect(state, after=None)`` drop this connection; connect again after `after`
                                         seconds (None: the short ``after_drop`` window)
        ``Stop(reason, state)``          run ``terminate``, exit with `reason`
        ===============================  ======================================================

        Default: the caller gets :class:`otpy.Unhandled`; the client carries on.
        """
        reply_error(from_, otpy.Unhandled(type(self), "handle_call", request, self.pid))
        return Ok(state)

    async def terminate(self, reason: Any, state: Any) -> None:
        """The process is about to exit (the socket is closed already). Default: nothing."""
        return None

    @classmethod
    async def start_link(
        cls, url: Any, arg: Any = None, *more: Any, name: Any = None, **options: Any
    ) -> otpy.Pid:
        """Start a client linked to the caller; return its pid. See :func:`start_link`."""
        return await start_link(url, cls, arg, *more, name=name, **options)

    @classmethod
    async def start(
        cls, url: Any, arg: Any = None, *more: Any, name: Any = None, **options: Any
    ) -> otpy.Pid:
        """Like :meth:`start_link`, without a link to the caller."""
        return await start(url, cls, arg, *more, name=name, **options)

    @classmethod
    def child_spec(cls, arg: Any = None, **overrides: Any) -> otpy.ChildSpec:
        """A child spec: `arg` is the URL (a str), or a mapping with ``url`` and optionally
        ``arg``, ``name`` and any option. `overrides` set ``id``, ``restart`` (default
        permanent) and ``shutdown``. The URL and options are checked here."""
        return child_spec(cls, arg, **overrides)


def _prepare(url: Any, cls: Any, options: dict[str, Any]) -> tuple[Any, Any]:
    if not (isinstance(cls, type) and issubclass(cls, WebsocketClient)):
        raise TypeError(f"{cls!r} is not a WebsocketClient subclass")
    u, opts = parse_url(url), parse_options(options)
    if (u.url.user is not None or u.url.password is not None) and "authorization" in {
        k.lower() for k in opts.headers
    }:
        raise InvalidOption(
            "the URL carries a user and password and the headers an Authorization: give the "
            "credentials once (aiohttp cannot send both)"
        )
    return u, opts


async def start_link(
    url: Any,
    cls: type[WebsocketClient],
    arg: Any = None,
    *more: Any,
    name: Any = None,
    **options: Any,
) -> otpy.Pid:
    """Start a `cls` client for `url`, linked to the caller; return its pid.

    `arg` goes to ``init``; given more positional arguments (as a DynamicSupervisor's
    ``extra_arguments`` do), ``init`` receives them all as one tuple ``(arg, *more)``.
    `name` is a local name or a ``Via``; a taken one raises :class:`otpy.AlreadyStarted`.
    The URL and options are checked first: InvalidURL and InvalidOption are raised here. By
    default it returns before the connection is up; with ``connect="sync"`` it waits for it,
    and raises the disconnect reason if it fails.
    """
    return await _start(url, cls, (arg, *more) if more else arg, name, options, link=True)


async def start(
    url: Any,
    cls: type[WebsocketClient],
    arg: Any = None,
    *more: Any,
    name: Any = None,
    **options: Any,
) -> otpy.Pid:
    """Like :func:`start_link`, without a link to the caller."""
    return await _start(url, cls, (arg, *more) if more else arg, name, options, link=False)


async def _start(
    url: Any, cls: Any, arg: Any, name: Any, options: dict[str, Any], link: bool
) -> otpy.Pid:
    u, opts = _prepare(url, cls, options)
    begin = otpy.behaviour.start_link if link else otpy.behaviour.start
    pid = await begin(ClientHost, cls, Start(u, opts, arg), name=name)
    if pid is None:  # pragma: no cover - init cannot return Ignore
        raise otpy.StartError("ignored", "client")
    if opts.connect == "sync":
        try:
            await otpy.call(pid, ConnectReq(start=False), opts.connect_timeout + 5.0)
        except BaseException:
            if otpy.is_alive(pid):
                otpy.unlink(pid)  # the failed start must not take the caller down with it
                await otpy.stop(pid, "shutdown")
            raise
    return pid


def child_spec(cls: type[WebsocketClient], arg: Any = None, **overrides: Any) -> otpy.ChildSpec:
    """The child spec of a `cls` client; see :meth:`WebsocketClient.child_spec`."""
    unknown = sorted(set(overrides) - set(_CHILD_KEYS))
    if unknown:
        raise InvalidOption(
            f"{cls.__qualname__}.child_spec got unknown option(s) {', '.join(unknown)}; give "
            f"{', '.join(_CHILD_KEYS)} here, and the URL, arg, name and client options in a "
            "mapping as the first argument"
        )
    if isinstance(arg, str):
        conf: dict[str, Any] = {"url": arg}
    elif isinstance(arg, Mapping):
        conf = dict(arg)
    else:
        raise InvalidOption(
            f"{cls.__qualname__}.child_spec takes the URL, or a mapping with 'url' (and 'arg', "
            f"'name', options), not {arg!r}"
        )
    if "url" not in conf:
        raise InvalidOption(f"{cls.__qualname__}.child_spec: the mapping has no 'url'")
    url = conf.pop("url")
    user_arg = conf.pop("arg", None)
    name = conf.pop("name", None)
    u, _ = _prepare(url, cls, conf)  # fail here, where the tree is written down
    start_fn = _ClientStart(url, u.display, cls, name, conf)
    fields: dict[str, Any] = {"id": cls, "start": (start_fn, (user_arg,))}
    fields.update(overrides)
    return otpy.ChildSpec(**fields)


class _ClientStart:
    """A child spec's start function: ``start_link(url, cls, *args, name=..., **options)``.
    Its repr shows the URL without credentials and no option values (headers may be secret)."""

    __slots__ = ("cls", "display", "name", "options", "url")

    def __init__(
        self, url: Any, display: str, cls: type[WebsocketClient], name: Any, options: Any
    ) -> None:
        self.url, self.display, self.cls, self.name, self.options = (
            url, display, cls, name, options
        )  # fmt: skip

    async def __call__(self, *args: Any) -> otpy.Pid:
        return await start_link(self.url, self.cls, *args, name=self.name, **self.options)

    def __repr__(self) -> str:
        opts = f", options: {', '.join(sorted(self.options))}" if self.options else ""
        return f"<start {self.cls.__qualname__} for {self.display}{opts}>"


async def send_frame(server: Any, frame: Any, timeout: float | None = 5.0) -> None:
    """Send `frame` (or a list of frames, in order); return once written.

    Raises :class:`~wsclient.InvalidFrame` here for a frame that cannot be sent (the client goes
    on), :class:`~wsclient.NotConnected` while connecting, closing or disconnected (also when the
    write broke the connection), and :class:`otpy.CallingSelf` from the client's own callbacks
    (return ``Reply`` instead). A ``CloseFrame`` starts a polite close.
    """
    frames = frame if isinstance(frame, list) else [frame]
    for f in frames:
        check_outgoing(f)
    await otpy.call(server, SendFrames(frames), timeout)


async def call(server: Any, request: Any, timeout: float | None = 5.0) -> Any:
    """Call the client's ``handle_call`` and wait for its ``otpy.reply``."""
    return await otpy.call(server, request, timeout)


async def connect(server: Any, timeout: float | None = None) -> None:
    """Connect a client that is down (after ``handle_disconnect`` returned Ok, or a close);
    return once connected. Connecting or in backoff: it connects now. Raises the disconnect
    reason if this attempt fails."""
    await otpy.call(server, ConnectReq(start=True), timeout)


async def close(
    server: Any, code: int = 1000, reason: str = "", timeout: float | None = None
) -> None:
    """Close the connection politely and stay down; return once it is closed. Closing a client
    that is not connected does nothing."""
    check_outgoing(CloseFrame(code, reason))
    await otpy.call(server, CloseReq(code, reason), timeout)


async def stats(server: Any, timeout: float | None = 5.0) -> Stats:
    """The client's counters and state."""
    result: Stats = await otpy.call(server, StatsReq(), timeout)
    return result

