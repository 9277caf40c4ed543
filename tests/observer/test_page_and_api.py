"""The observer's page, its files, its JSON API and its websocket, over 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
import structlog

import otpy
from otpy import DynamicSupervisor, Pid, Supervisor
from otpy.supervisor import start_child, which_children
from wsclient import Text
from wsclient.testing import Server

from ..otpy.supervision_support import (
    die,
    started,
    worker,
)
from ..wsclient.support import Reporter
from ..wsclient.support import next_event as client_event
from .endpoints_support import (
    Observe,
    Plain,
    get,
)
from .support import GUARD, child_of, states_until

pytestmark = pytest.mark.timeout(30)


# -- the page and its assets ---------------------------------------------------------------


async def test_the_page_is_html_loading_the_script_and_the_stylesheet(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()

    status, headers, body = await get(http, obs.at("/"))

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert body.lstrip().lower().startswith("<!doctype html>")
    assert 'src="observer.js"' in body and 'href="observer.css"' in body


async def test_the_script_and_the_stylesheet_are_served_with_their_types(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()

    js = await get(http, obs.at("/observer.js"))
    css = await get(http, obs.at("/observer.css"))

    assert (js[0], css[0]) == (200, 200)
    assert js[1]["Content-Type"].startswith("text/javascript")
    assert css[1]["Content-Type"].startswith("text/css")
    assert "WebSocket" in js[2] and "{" in css[2]


async def test_the_page_is_sent_with_its_security_headers(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()

    _, headers, _ = await get(http, obs.at("/"))

    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_assets_and_the_api_are_not_cached_either(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()

    for path in ("/observer.js", "/api/snapshot"):
        _, headers, _ = await get(http, obs.at(path))
        assert headers["Cache-Control"] == "no-store", path
    _, headers, _ = await get(http, obs.at("/observer.js"))
    assert "default-src 'self'" in headers["Content-Security-Policy"]


async def test_an_unknown_path_is_404(observe: Observe, http: aiohttp.ClientSession) -> None:
    obs = await observe()

    status, _, _ = await get(http, obs.at("/static/../../etc/passwd"))

    assert status == 404


# -- the API and the websocket --------------------------------------------------------------


async def test_api_snapshot_has_the_tree_and_says_who_serves_it(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")], name="api_sup")
    assert isinstance(sup, Pid)
    a, b = await started("a"), await started("b")
    obs = await observe()

    async with http.get(obs.at("/api/snapshot")) as r:
        assert r.status == 200 and r.content_type == "application/json"
        data = await r.json()

    assert repr(sup) in data["roots"]
    assert (child_of(data, sup, "a")["pid"], child_of(data, sup, "b")["pid"]) == (repr(a), repr(b))
    assert data["observer"] == {"pid": repr(obs.pid), "loopback": True}
    (me,) = [p for p in data["processes"] if p["pid"] == repr(obs.pid)]
    assert (me["label"], me["module"]) == ("Observer", "otpy.observer.server.Observer")
    await otpy.stop(sup)


async def test_the_socket_sends_the_state_at_once(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a")])
    assert isinstance(sup, Pid)
    a = await started("a")
    obs = await observe(interval=60)  # no push comes during the test: this is the first state

    async with http.ws_connect(obs.at("/ws")) as ws:
        state = await ws.receive_json(timeout=GUARD)

    child = child_of(state, sup, "a")
    assert (child["pid"], child["restarts"], child["restarted_at"]) == (repr(a), 0, None)
    assert any(e["event"] == "observer_started" for e in state["events"])
    await otpy.stop(sup)


async def test_the_socket_pushes_a_restart_with_its_time_and_its_event(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")], max_seconds=3600)
    assert isinstance(sup, Pid)
    old = await started("a")
    await started("b")
    obs = await observe()

    async with http.ws_connect(obs.at("/ws")) as ws:
        first = child_of(await ws.receive_json(timeout=GUARD), sup, "a")
        assert (first["restarts"], first["restarted_at"]) == (0, None)
        await die(old, "crash")
        new = await started("a")

        def restarted(state: dict[str, Any], events: list[dict[str, Any]]) -> bool:
            child = child_of(state, sup, "a")
            return child["restarts"] == 1 and any(e["event"] == "child_restarted" for e in events)

        state, events = await states_until(ws, restarted)

    child = child_of(state, sup, "a")
    assert (child["pid"], child["status"]) == (repr(new), "running")
    assert isinstance(child["restarted_at"], float) and child["restarted_at"] <= state["taken_at"]
    assert child_of(state, sup, "b")["restarted_at"] is None
    (event,) = [e for e in events if e["event"] == "child_restarted"]
    assert event["level"] == "info"
    assert (event["fields"]["child_id"], event["fields"]["pid"], event["fields"]["old_pid"]) == (
        "a", repr(new), repr(old),
    )  # fmt: skip
    assert repr(new) in event["who"]
    await otpy.stop(sup)


async def test_every_pushed_event_is_numbered_and_none_is_lost(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a")], max_restarts=10, max_seconds=3600)
    assert isinstance(sup, Pid)
    pid = await started("a")
    obs = await observe()

    async with http.ws_connect(obs.at("/ws")) as ws:
        await ws.receive_json(timeout=GUARD)
        for _ in range(3):
            await die(pid, "crash")
            pid = await started("a")

        def three(state: dict[str, Any], events: list[dict[str, Any]]) -> bool:
            return sum(e["event"] == "child_restarted" for e in events) == 3

        _, events = await states_until(ws, three)

    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    restarts = [e["fields"]["restarts"] for e in events if e["event"] == "child_restarted"]
    assert restarts == ["1", "2", "3"]
    await otpy.stop(sup)


async def test_children_of_a_dynamic_supervisor_are_not_seen_as_restarting_each_push(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await DynamicSupervisor.start_link(max_seconds=3600)
    assert isinstance(sup, Pid)
    first = await start_child(sup, worker("job"))
    await started("job")
    await start_child(sup, worker("job"))  # the same id: a dynamic supervisor allows it
    await started("job")
    await die(first, "crash")  # so that the two children differ in restarts
    await started("job")
    await which_children(sup)
    obs = await observe()

    async with http.ws_connect(obs.at("/ws")) as ws:
        pushes = 0

        def five(state: dict[str, Any], events: list[dict[str, Any]]) -> bool:
            nonlocal pushes
            pushes += 1
            return pushes == 5

        state, _ = await states_until(ws, five)

    (s,) = [s for s in state["supervisors"] if s["pid"] == repr(sup)]
    assert sorted(c["restarts"] for c in s["children"]) == [0, 1]
    assert [c["restarted_at"] for c in s["children"]] == [None, None]  # nothing restarted since
    await otpy.stop(sup)


async def test_a_client_is_pushed_with_its_message_rate(
    observe: Observe, http: aiohttp.ClientSession, ws_server: Server
) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await client_event("connect")
    server = await Plain.start(None)
    assert isinstance(server, Pid)
    obs = await observe()

    async with http.ws_connect(obs.at("/ws")) as ws:
        await ws.receive_json(timeout=GUARD)  # its first sample: no frame in yet
        await ws_server.push([Text(f"tick {n}") for n in range(10)])
        for n in range(10):
            assert await client_event("frame") == Text(f"tick {n}")

        def counted(state: dict[str, Any], events: list[dict[str, Any]]) -> bool:
            (p,) = [p for p in state["processes"] if p["pid"] == repr(pid)]
            return any(rate > 0 for rate in p["rates"])

        state, _ = await states_until(ws, counted)

    (plain,) = [p for p in state["processes"] if p["pid"] == repr(server)]
    assert "rates" not in plain  # only a websocket client has a message rate
    await otpy.stop(pid)
    await otpy.stop(server)


async def test_credentials_reach_the_page_neither_in_the_tree_nor_in_the_events(
    observe: Observe, http: aiohttp.ClientSession, ws_server: Server
) -> None:
    obs = await observe()
    pid = await Reporter.start_link(
        f"ws://alice:s3cr3t-pw@127.0.0.1:{ws_server.port}/", otpy.self_pid()
    )
    await client_event("connect")
    structlog.get_logger("app").warning(
        "upstream ws://bob:hunter2-pw@feed.example/ is slow",
        upstream="wss://carol:opensesame-pw@feed.example/",
        api_token="tok-123-secret",
    )

    async with http.get(obs.at("/api/snapshot")) as r:
        text = await r.text()

    for secret in ("s3cr3t-pw", "hunter2-pw", "opensesame-pw", "tok-123-secret", "alice", "bob"):
        assert secret not in text, secret
    data = json.loads(text)
    (event,) = [e for e in data["events"] if e["event"].startswith("upstream")]
    assert event["fields"]["upstream"] == "wss://<redacted>@feed.example/"
    await otpy.stop(pid)
