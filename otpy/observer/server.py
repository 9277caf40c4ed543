"""The observer: a GenServer that serves a live web page of the running tree.

::

    otpy.run([Observer.child_spec(port=8040), MyApp], strategy="one_for_one")

It is one child like any other. Its web server (aiohttp's) runs in a helper task, so that however
the observer ends, killed included, the listening socket is closed with it; a port it cannot bind
makes it log ``observer_start_failed`` and return ``Ignore`` rather than fail the tree's start,
and its child spec is ``restart="temporary"`` by default, so that a crash of the observer is
logged and not restarted: it can never use up the restart intensity of the tree it watches.

While a page is open, it is pushed a fresh :func:`~otpy.observer.snapshot` over a websocket
every `interval` seconds (0.5 by default: a change shows within a second); a tree so large
that picturing it takes longer is pushed less often, so that the observer never spends more
than a fifth of the event loop's time on it. Each page has its own sender that holds only the
latest picture, so a page that stops reading delays no other (it is dropped after 5 s). See
``docs/howto/observer.md`` for the page, the safety rules and the JSON it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import secrets
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from otpy._runtime import _resolve
from otpy._supervision import format_id
from otpy.child_spec import ChildSpec
from otpy.genserver import From, GenServer, call, server_child_spec
from otpy.log import logger
from otpy.observer._events import EventTap
from otpy.observer.snapshot import ChildSnapshot, Snapshot, SupervisorSnapshot, snapshot
from otpy.process import exit as exit_process
from otpy.process import spawn, start_task
from otpy.returns import Ignore, Ok, Reply
from otpy.supervisor import restart_child, terminate_child
from otpy.values import Pid

__all__ = ["ACTIONS", "Observer", "ObserverOptions", "observer_url"]

#: The actions the page offers. Process actions: kill. Child actions (a supervisor's child):
#: restart (terminate it, then start it again; static supervisors only), terminate. A process
#: whose GenServer defines ``observer_actions`` (wsclient's clients: close, reconnect) adds its own.
ACTIONS = ("kill", "restart", "terminate")
#: How many message-rate samples a sparkline shows (one per push: 30 s at the default interval).
SPARK_POINTS = 60
#: How long a page's websocket is given to answer the observer's close when it stops.
_CLOSE_TIMEOUT = 1.0
#: The page's own files: the only routes its cookie opens.
_PAGE_FILES = frozenset({"/", "/observer.js", "/observer.css"})
#: Seconds a page may take to read one state before its connection is dropped.
_SEND_TIMEOUT = 5.0
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _is_loopback(host: str) -> bool:
    """True if `host` (a name or an address, without a port) can only be this machine."""
    name = host.rstrip(".").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(authority: str) -> str:
    """The host of a Host header: ``"[::1]:8040"`` is ``"::1"``, ``"a:80"`` is ``"a"``."""
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    if authority.count(":") == 1:
        return authority.partition(":")[0]
    return authority


@dataclass(frozen=True, slots=True)
class ObserverOptions:
    """Where and how the observer listens; see :meth:`Observer.child_spec`."""

    host: str = "127.0.0.1"
    port: int = 8040
    token: str | None = field(default=None, repr=False)
    interval: float = 0.5
    print_url: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ValueError(f"host must be an address or a host name, not {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ValueError(f"port must be an int from 0 to 65535, not {self.port!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be from 0 (any free port) to 65535, not {self.port}")
        if self.token is not None and (not isinstance(self.token, str) or len(self.token) < 16):
            raise ValueError(
                "token must be a string of at least 16 characters (or None: one is made)"
            )
        if isinstance(self.interval, bool) or not isinstance(self.interval, int | float):
            raise ValueError(f"interval must be seconds, not {self.interval!r}")
        if not 0.05 <= self.interval <= 60:
            raise ValueError(f"interval must be from 0.05 to 60 seconds, not {self.interval}")

    @property
    def loopback(self) -> bool:
        """True when only this machine can reach the observer."""
        return _is_loopback(self.host)


class _UrlReq:
    __slots__ = ()


class Observer(GenServer):
    """The observer's process. Start it with :meth:`child_spec` in a tree."""

    trap_exits = True

    @classmethod
    def child_spec(  # type: ignore[override]
        cls,
        *,
        port: int = 8040,
        host: str = "127.0.0.1",
        token: str | None = None,
        interval: float = 0.5,
        print_url: bool = True,
        name: str = "otpy.observer",
        id: Any = "observer",
        restart: str = "temporary",
    ) -> ChildSpec:
        """A child spec for the observer.

        `host`: where it listens; 127.0.0.1 (this machine only) by default. Anywhere else, every
        request needs the `token`. `token`: at least 16 characters; None makes a random one.
        Actions always need it. `print_url`: print the page's address, with the token, on
        stderr when it starts. `interval`: seconds between pushes to the page. `restart` is
        ``"temporary"`` so that a failing observer never counts against the tree's restart
        intensity. The options are checked here: a bad one raises ValueError.
        """
        opts = ObserverOptions(host, port, token, interval, print_url)
        return server_child_spec(
            cls, cls.start_link, opts, {"id": id, "restart": restart, "name": name}
        )

    async def init(self, opts: Any) -> Ok | Ignore:
        if not isinstance(opts, ObserverOptions):
            opts = ObserverOptions(**(opts or {}))
        self.opts = opts
        self.token: str = opts.token or secrets.token_urlsafe(24)
        self.log = logger(observer=repr(self.pid))
        self.tap = EventTap()
        self.sockets: dict[web.WebSocketResponse, _Outbox] = {}
        self.samples: dict[str, deque[tuple[float, int]]] = {}
        self.rates: dict[str, deque[float]] = {}
        self.last_restarts: dict[str, int] = {}
        self.just_restarted: dict[str, float] = {}
        bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.web = start_task(self._serve(bound), name=f"observer web server of {self.pid!r}")
        try:
            self.port = await bound
        except OSError as e:
            self.log.error(
                "observer_start_failed", host=opts.host, port=opts.port, reason=str(e),
                hint="choose another port, or port=0 for any free one",
            )  # fmt: skip
            return Ignore()
        self.tap.install()
        start_task(self._push_forever(), name=f"observer push of {self.pid!r}")
        self.log.info("observer_started", url=self.url(with_token=False))
        if opts.print_url:
            print(f"otpy observer: {self.url()}", file=sys.stderr, flush=True)
        return Ok(None)

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        if type(request) is _UrlReq:
            return Reply(self.url(), state)
        return await super().handle_call(request, from_, state)

    def url(self, with_token: bool = True) -> str:
        host = self.opts.host
        shown = f"[{host}]" if ":" in host else host
        query = f"?token={self.token}" if with_token else ""
        return f"http://{shown}:{self.port}/{query}"

    # -- the web server -----------------------------------------------------------------------

    async def _serve(self, bound: asyncio.Future[int]) -> None:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._page)
        app.router.add_get("/observer.js", self._asset)
        app.router.add_get("/observer.css", self._asset)
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/ws", self._socket)
        app.router.add_post("/api/action", self._action)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.opts.host, self.opts.port)
        try:
            try:
                await site.start()
            except OSError as e:
                bound.set_exception(e)
                return
            server = site._server
            assert server is not None
            bound.set_result(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
            await asyncio.Event().wait()  # until the observer exits and cancels this task
        finally:
            # However the observer ends, a kill included (its terminate does not run then, and
            # this clean-up is cancelled again at its first await), the tap and the listening
            # socket go at once, before anything is awaited.
            self.tap.uninstall()
            if site._server is not None:
                site._server.close()
            await self._shut_down(runner)

    async def _shut_down(self, runner: web.AppRunner) -> None:
        try:
            if self.sockets:
                await asyncio.gather(
                    *(
                        ws.close(code=1001, message=b"observer stopping")
                        for ws in list(self.sockets)
                    ),
                    return_exceptions=True,
                )
            await runner.cleanup()
        except asyncio.CancelledError:  # killed: no goodbyes, every connection is dropped now
            if runner.server is not None:
                for conn in runner.server.connections:
                    conn.force_close()
            raise

    @property
    def _cookie_name(self) -> str:
        return f"otpy_observer_{self.port}"  # a cookie is for a host, whatever its port

    def _cookie_value(self) -> str:
        # what the page's cookie holds: proof of the token, not the token
        return hashlib.sha256(b"otpy observer page\0" + self.token.encode()).hexdigest()

    def _has_cookie(self, request: web.Request) -> bool:
        given = request.cookies.get(self._cookie_name, "")
        return bool(given) and hmac.compare_digest(given.encode(), self._cookie_value().encode())

    def _has_token(self, request: web.Request) -> bool:
        given: str = request.query.get("token") or request.headers.get("X-Observer-Token") or ""
        auth = request.headers.get("Authorization", "")
        if not given and auth.startswith("Bearer "):
            given = auth[7:]
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        token = self._has_token(request)
        # the page's cookie stands in for the token on the page's own files only (its script
        # and its stylesheet are fetched without the page's query); they hold no data. A
        # cookie goes to every port of the host, so it must not open the tree (/ws and
        # /api/snapshot want the token, which the page's script sends) nor any action.
        cookie = (
            request.method == "GET" and request.path in _PAGE_FILES and self._has_cookie(request)
        )
        if not self.opts.loopback and not token and not cookie:
            return web.json_response(
                {"error": "this observer needs its token: open the address it printed"},
                status=401,
            )
        if self.opts.loopback and not token and not _is_loopback(_host_name(request.host)):
            # DNS rebinding: a site whose name points at 127.0.0.1 is same-origin for the
            # browser; without the token, only a loopback name or address may be asked for
            return web.json_response(
                {"error": f"host {request.host!r} is not this machine's: "
                 "open the address the observer printed"},
                status=403,
            )  # fmt: skip
        origin = request.headers.get("Origin")
        if origin is not None and origin not in (
            f"http://{request.host}",
            f"https://{request.host}",
        ):
            # a page from another site must not read the tree through the visitor's browser
            return web.json_response({"error": f"origin {origin} not allowed"}, status=403)
        response = await handler(request)
        if token and request.path == "/" and not response.prepared:
            response.set_cookie(
                self._cookie_name, self._cookie_value(), path="/", httponly=True,
                samesite="Strict",
            )  # fmt: skip
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return self._file("index.html", "text/html", frame_deny=True)

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.path.lstrip("/")
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return self._file(name, kind)

    def _file(self, name: str, kind: str, frame_deny: bool = False) -> web.Response:
        body = resources.files("otpy.observer").joinpath("static", name).read_text("utf-8")
        headers = {
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        }
        if frame_deny:
            headers["X-Frame-Options"] = "DENY"
        return web.Response(text=body, content_type=kind, headers=headers)

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._state(snapshot(), events_after=0))

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=20.0, compress=True, timeout=_CLOSE_TIMEOUT)
        await ws.prepare(request)
        outbox = _Outbox()
        outbox.put(json.dumps(self._state(snapshot(), events_after=0)))
        self.sockets[ws] = outbox
        # each page has its own sender, holding only the latest state: a page that stops
        # reading holds up no other page, and the push loop never waits for a socket
        sender = asyncio.get_running_loop().create_task(_send_forever(ws, outbox, request))
        try:
            async for msg in ws:  # the page sends nothing; this waits for its close
                if msg.type is WSMsgType.ERROR:
                    break
        finally:
            self.sockets.pop(ws, None)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        return ws

    async def _action(self, request: web.Request) -> web.StreamResponse:
        if not self._has_token(request):
            return web.json_response(
                {"error": "actions need the observer's token (in the address it printed)"},
                status=401,
            )
        try:
            body = await request.json()
            action, pid_text = str(body["action"]), str(body["pid"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "send {action, pid}"}, status=400)
        try:
            result = await self._run_action(action, pid_text)
        except _Refused as e:
            return web.json_response({"error": str(e)}, status=409)
        except Exception as e:  # the action itself failed: say why, and carry on
            self.log.warning(
                "observer_action_failed", action=action, target=pid_text, reason=repr(e)
            )
            return web.json_response({"error": f"{type(e).__name__}: {e}"}, status=500)
        self.log.info("observer_action", action=action, target=pid_text)
        return web.json_response({"ok": True, "result": result})

    async def _run_action(self, action: str, pid_text: str) -> str:
        snap = snapshot()
        target = next((p for p in snap.processes if repr(p.pid) == pid_text), None)
        if target is None:
            raise _Refused(f"{pid_text} is not alive")
        if action == "kill":
            exit_process(target.pid, "kill")
            return f"killed {pid_text}"
        if action in ("restart", "terminate"):
            sup, child, child_id = _parent(snap, target.pid)
            if sup is None or child is None:
                raise _Refused(f"{pid_text} is not a supervisor's child")
            if action == "terminate":
                ref = target.pid if sup.dynamic else child_id
                await _on_its_own(terminate_child(sup.pid, ref, 10.0))
                return f"terminated {pid_text}"
            if sup.dynamic:
                raise _Refused("a DynamicSupervisor cannot restart a child: terminate it instead")
            if child.restart == "temporary":
                # terminate_child removes a temporary child: it could not be started again
                raise _Refused("a temporary child cannot be restarted: terminate it instead")
            await _on_its_own(_restart(sup.pid, child_id))
            return f"restarted {format_id(child_id)}"
        proc = _resolve(target.pid)
        extra = getattr(proc.behaviour if proc is not None else None, "observer_actions", None)
        if not extra or action not in extra:
            raise _Refused(f"no action {action!r} for {pid_text}")
        await asyncio.wait_for(extra[action](target.pid), 10.0)
        return f"{action}: done"

    # -- pushing --------------------------------------------------------------------------------

    async def _push_forever(self) -> None:
        seen_events = 0
        pause = self.opts.interval
        while True:
            await asyncio.sleep(pause)  # the push rate, not a wait for an event
            if not self.sockets:
                continue  # no page open: nothing to compute
            began = time.perf_counter()
            try:
                text = json.dumps(self._state(snapshot(), events_after=seen_events))
            except Exception as e:  # a snapshot failure is logged, and the next one tried
                self.log.warning("observer_snapshot_failed", reason=repr(e))
                continue
            seen_events = self.tap.seq
            for outbox in self.sockets.values():
                outbox.put(text)
            # a large tree costs time to picture: never spend more than a fifth of the loop on it
            pause = max(self.opts.interval, 4 * (time.perf_counter() - began))

    def _state(self, snap: Snapshot, events_after: int) -> dict[str, Any]:
        """What the page is sent: the snapshot, message rates, recent restarts, new events."""
        now = time.time()
        data = snap.to_json()
        alive = set()
        for p in data["processes"]:
            key = p["pid"]
            alive.add(key)
            status = p["status"]
            if p["status_type"] == "wsclient.Stats" and isinstance(status, dict):
                samples = self.samples.setdefault(key, deque(maxlen=2))
                samples.append((snap.taken_at, int(status.get("frames_in", 0))))
                rates = self.rates.setdefault(key, deque(maxlen=SPARK_POINTS))
                if len(samples) == 2 and samples[1][0] > samples[0][0]:
                    (t0, n0), (t1, n1) = samples
                    rates.append(max(n1 - n0, 0) / (t1 - t0))
                p["rates"] = list(rates)
        for gone in set(self.samples) - alive:
            self.samples.pop(gone, None)
            self.rates.pop(gone, None)
        seen = set()
        for sup, s in zip(snap.supervisors, data["supervisors"], strict=True):
            for key, c in zip(_child_keys(sup), s["children"], strict=True):
                seen.add(key)
                before = self.last_restarts.get(key)
                if before is not None and c["restarts"] > before:
                    self.just_restarted[key] = now
                self.last_restarts[key] = c["restarts"]
                c["restarted_at"] = self.just_restarted.get(key)
        for gone in set(self.last_restarts) - seen:
            self.last_restarts.pop(gone, None)
            self.just_restarted.pop(gone, None)
        data["events"] = [
            {"seq": e.seq, "ts": e.ts, "level": e.level, "event": e.event, "who": e.who,
             "fields": e.fields}
            for e in self.tap.since(events_after)
        ]  # fmt: skip
        data["observer"] = {"pid": repr(self.pid), "loopback": self.opts.loopback}
        return data


class _Refused(Exception):
    pass


async def _restart(sup: Pid, child_id: Any) -> None:
    await terminate_child(sup, child_id, 10.0)
    await restart_child(sup, child_id, 10.0)


async def _on_its_own(work: Coroutine[Any, Any, Any]) -> Any:
    """Run `work` in a process of its own, unlinked, and wait for it. A restart of the subtree
    the observer is in stops the observer, and with it the request being served: the work must
    not stop halfway, with the child terminated and never started again."""
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    # the request may be gone by the time it ends: its outcome is then not anyone's to read
    done.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def run() -> None:
        try:
            result = await work
        except Exception as e:
            if not done.done():
                done.set_exception(e)
        else:
            if not done.done():
                done.set_result(result)

    spawn(run)
    return await asyncio.shield(done)


class _Outbox:
    """The latest state to send to one page (older ones are dropped: only the newest counts)."""

    __slots__ = ("latest", "ready")

    def __init__(self) -> None:
        self.latest = ""
        self.ready = asyncio.Event()

    def put(self, text: str) -> None:
        self.latest = text
        self.ready.set()


async def _send_forever(ws: web.WebSocketResponse, outbox: _Outbox, request: web.Request) -> None:
    while True:
        await outbox.ready.wait()
        outbox.ready.clear()
        try:
            await asyncio.wait_for(ws.send_str(outbox.latest), _SEND_TIMEOUT)
        except (TimeoutError, ConnectionError, RuntimeError):
            # a page that has not read for so long is gone: drop its connection at once (a
            # polite close would wait behind the same full buffer)
            transport = request.transport
            if transport is not None:
                transport.abort()
            return


def _parent(
    snap: Snapshot, pid: Pid
) -> tuple[SupervisorSnapshot | None, ChildSnapshot | None, Any]:
    """The supervisor of `pid`, its entry there and the child's real id (not its printed
    form), or (None, None, None)."""
    for sup in snap.supervisors:
        for c in sup.children:
            if c.pid == pid:
                proc = _resolve(sup.pid)
                server = proc.behaviour if proc is not None else None
                for child in getattr(server, "children", {}).values():
                    if child.pid == pid:
                        return sup, c, child.spec.id
    return None, None, None


def _child_keys(sup: SupervisorSnapshot) -> list[str]:
    """A key for each child of `sup` that stays the same across its restarts: the supervisor's
    own key for it (a DynamicSupervisor's children may all have the same id), else its id."""
    proc = _resolve(sup.pid)
    table = getattr(proc.behaviour if proc is not None else None, "children", None)
    if isinstance(table, dict) and len(table) == len(sup.children):
        return [f"{sup.pid!r}/#{key}" for key in table]
    return [f"{sup.pid!r}/{c.id}" for c in sup.children]


async def observer_url(server: Any = "otpy.observer", timeout: float | None = 5.0) -> str:
    """The address of a running observer's page, with its token."""
    result: str = await call(server, _UrlReq(), timeout)
    return result
