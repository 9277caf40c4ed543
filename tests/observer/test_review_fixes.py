"""Regressions from the review of the observer: each test failed on the code before its fix."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import structlog

import otpy
from otpy import GenServer, Ok, Supervisor
from otpy.observer import Observer, ObserverOptions, observer_url, snapshot
from otpy.observer import server as observer_server
from otpy.observer._events import EventTap
from otpy.supervisor import which_children

from ..otpy.support import wait_down
from .endpoints_support import Observe
from .support import GUARD


class Worker(GenServer):
    async def init(self, arg: Any) -> Ok:
        return Ok(arg)


def _stuck_page(port: int) -> socket.socket:
    """A page that opens the websocket and never reads: a tiny receive buffer fills at once."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .encode()
    )  # fmt: skip
    return s


#: Callbacks run on every log event while `log_events` is in use.
watch: list[Any] = []


@pytest.fixture
def log_events() -> Iterator[list[dict[str, Any]]]:
    """Every structlog event of the test, as it is emitted (callbacks in `watch` see each)."""
    seen: list[dict[str, Any]] = []

    def keep(_logger: Any, _method: str, event: Any) -> Any:
        seen.append(dict(event))
        for w in watch:
            w(event)
        raise structlog.DropEvent

    old = structlog.get_config()["processors"]
    structlog.configure(processors=[keep])
    try:
        yield seen
    finally:
        watch.clear()
        structlog.configure(processors=old)


@pytest.fixture
def short_send_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(observer_server, "_SEND_TIMEOUT", 0.3)
    yield


async def test_a_page_that_never_reads_holds_up_no_other_page_and_is_dropped(
    observe: Observe, short_send_timeout: None
) -> None:
    # pictures big enough to fill the stuck page's buffers in a few pushes
    sup = await Supervisor.start(
        [Worker.child_spec(i, id=f"worker-{i}") for i in range(400)], strategy="one_for_one"
    )
    assert sup is not None
    obs = await observe()
    stuck = _stuck_page(obs.port)
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(obs.at("/ws")) as page:
            pushes = 0
            async with asyncio.timeout(GUARD * 2):
                while pushes < 60:  # ~3 s of pushes, ten times the send timeout
                    msg = await page.receive()
                    assert msg.type is aiohttp.WSMsgType.TEXT, msg
                    pushes += 1
            # the stuck page was dropped: its socket ends (reset or end of stream) once read
            stuck.setblocking(False)
            loop = asyncio.get_running_loop()
            ended = False
            async with asyncio.timeout(GUARD):
                while not ended:
                    try:
                        ended = not await loop.sock_recv(stuck, 65536)
                    except ConnectionResetError:
                        ended = True
            assert otpy.is_alive(obs.pid)
    finally:
        stuck.close()
        await otpy.stop(sup)


async def test_restarting_the_subtree_that_holds_the_observer_starts_it_again(
    http: aiohttp.ClientSession, log_events: list[dict[str, Any]]
) -> None:
    started = asyncio.Event()
    watch.append(
        lambda e: (
            e.get("event") == "child_started"
            and e.get("child_id") == "ops"
            and e.get("restarts") is not None
            and started.set()
        )
    )
    ops = Supervisor.child_spec(
        [
            Worker.child_spec(1, id="worker"),
            Observer.child_spec(port=0, print_url=False, restart="permanent", interval=0.05),
        ],
        id="ops",
    )
    root = await Supervisor.start([Worker.child_spec(0, id="a"), ops], strategy="one_for_one")
    assert root is not None
    try:
        url = await observer_url()
        port = int(url.split(":")[2].split("/")[0])
        token = url.split("token=")[1]
        (ops_child,) = [c for c in await which_children(root) if c.id == "ops"]
        old_ops = ops_child.pid
        ref = otpy.monitor(old_ops)
        body = {"action": "restart", "pid": repr(old_ops)}
        with pytest.raises(aiohttp.ClientError):  # the observer answering goes down with ops
            async with http.post(
                f"http://127.0.0.1:{port}/api/action", json=body,
                headers={"X-Observer-Token": token},
            ) as r:  # fmt: skip
                await r.read()
        await wait_down(ref)
        # the work went on in a process of its own: ops is started again, observer included
        await asyncio.wait_for(started.wait(), GUARD)
        (c,) = [c for c in await which_children(root) if c.id == "ops"]
        assert c.status == "running" and c.pid != old_ops
        assert [k.id for k in await which_children(c.pid)] == ["worker", "observer"]
    finally:
        await otpy.stop(root)


def test_the_tap_runs_after_the_application_s_own_redaction() -> None:
    def hide_card(_logger: Any, _method: str, event: Any) -> Any:
        if "card" in event:
            event["card"] = "****"
        return event

    rendered: list[str] = []

    def render(_logger: Any, _method: str, event: Any) -> Any:
        rendered.append(json.dumps(dict(event)))
        raise structlog.DropEvent

    old = structlog.get_config()
    structlog.configure(processors=[hide_card, render])
    tap = EventTap()
    try:
        tap.install()
        structlog.get_logger("app").info("payment", card="4111111111111111")
    finally:
        tap.uninstall()
        structlog.configure(**{k: old[k] for k in ("processors",)})
    (event,) = tap.events
    assert event.fields["card"] == "****"
    assert rendered and "4111" not in rendered[0]


@pytest.mark.parametrize(
    ("field", "value", "secret"),
    [
        ("headers", {"Authorization": "Bearer SEKRET"}, "SEKRET"),
        ("request", [{"api_key": "SEKRET"}], "SEKRET"),
        ("url", "wss://user:p@ssSEKRET@host/feed", "ssSEKRET"),
        ("credentials", "SEKRET", "SEKRET"),
        ("passwd", "SEKRET", "SEKRET"),
    ],
)
def test_the_tap_hides_nested_and_oddly_named_secrets(field: str, value: Any, secret: str) -> None:
    tap = EventTap()
    tap(None, "info", {"event": "e", field: value})
    (event,) = tap.events
    assert secret not in json.dumps(event.fields)


async def test_a_broken_observer_status_is_logged_once_per_process() -> None:
    class Broken(GenServer):
        async def init(self, arg: Any) -> Ok:
            return Ok(arg)

        def observer_status(self) -> Any:
            raise RuntimeError("no status")

    pid = await Broken.start(None)
    try:
        with structlog.testing.capture_logs() as logs:
            for _ in range(5):
                snap = snapshot()
                p = snap.process(pid)
                assert p is not None and p.status is None
        assert [e["event"] for e in logs].count("observer_status_failed") == 1
    finally:
        await otpy.stop(pid)


def test_the_token_is_not_in_the_options_repr() -> None:
    opts = ObserverOptions(token="a-secret-token-of-some-length")
    assert "a-secret-token" not in repr(opts)
    assert "a-secret-token" not in repr(Observer.child_spec(token="a-secret-token-of-some-length"))
