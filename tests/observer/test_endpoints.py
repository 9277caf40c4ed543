"""The Observer for real: its page, assets, API and websocket over 127.0.0.1; the token, the
origin and host checks; the actions; and its own failures, which never take the tree down."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import structlog
from structlog.testing import capture_logs

import otpy
import wsclient
from otpy import DynamicSupervisor, GenServer, Ok, Pid, Supervisor
from otpy.observer import Observer, ObserverOptions, observer_url
from otpy.observer._events import EventTap
from otpy.supervisor import start_child, terminate_child, which_children
from wsclient import CloseFrame, Text
from wsclient.testing import Server

from ..otpy.supervision_support import (
    assert_no_events,
    children,
    die,
    next_event,
    started,
    worker,
)
from ..otpy.support import idle, wait_down
from ..wsclient.support import Reporter
from ..wsclient.support import next_event as client_event
from .support import GUARD, INTERVAL, Running, act, child_of, running, states_until

pytestmark = pytest.mark.timeout(30)

Observe = Callable[..., Awaitable[Running]]
#: The routes a page reads (the websocket and the action are tried apart).
PAGE_FILES = ("/", "/observer.js", "/observer.css")
GET_ROUTES = (*PAGE_FILES, "/api/snapshot")
EVIL = "http://evil.example"


class Plain(GenServer):
    async def init(self, arg: Any) -> Ok:
        return Ok(arg)


def taps() -> list[EventTap]:
    """The observers' taps in structlog's processor list."""
    return [p for p in structlog.get_config()["processors"] if isinstance(p, EventTap)]


async def port_refuses(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:`port` (a fresh connection is refused)."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


def taken_port() -> socket.socket:
    """A socket listening on a free port of 127.0.0.1 (close it after use)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


async def get(http: aiohttp.ClientSession, url: str, **kw: Any) -> tuple[int, Any, str]:
    async with http.get(url, **kw) as r:
        return r.status, r.headers, await r.text()


async def ws_status(http: aiohttp.ClientSession, url: str, **kw: Any) -> int:
    """The HTTP status that refused a websocket handshake."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with http.ws_connect(url, **kw):
            pass
    return refused.value.status


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


# -- the token -------------------------------------------------------------------------------


async def test_beyond_loopback_every_route_answers_401_without_the_token(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe(host="0.0.0.0")
    victim = otpy.spawn(idle)

    for path in GET_ROUTES:
        status, _, body = await get(http, obs.at(path))
        assert status == 401, path
        assert "token" in json.loads(body)["error"]
    assert await ws_status(http, obs.at("/ws")) == 401
    assert (await act(http, obs, "kill", victim, token=None))[0] == 401
    assert otpy.is_alive(victim)
    otpy.exit(victim, "kill")


async def test_beyond_loopback_a_wrong_token_is_401_everywhere(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe(host="0.0.0.0")
    wrong = "x" * len(obs.token)

    for path in GET_ROUTES:
        assert (await get(http, obs.at(path), params={"token": wrong}))[0] == 401, path
        assert (await get(http, obs.at(path), headers={"X-Observer-Token": wrong}))[0] == 401
    assert await ws_status(http, obs.at("/ws"), params={"token": wrong}) == 401


async def test_beyond_loopback_the_token_in_the_query_opens_every_route(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe(host="0.0.0.0")
    token = {"token": obs.token}

    for path in GET_ROUTES:
        assert (await get(http, obs.at(path), params=token))[0] == 200, path
    async with http.ws_connect(obs.at("/ws"), params=token) as ws:
        state = await ws.receive_json(timeout=GUARD)
    assert state["observer"] == {"pid": repr(obs.pid), "loopback": False}


async def test_beyond_loopback_the_token_in_a_header_opens_every_route(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe(host="0.0.0.0")

    for headers in ({"X-Observer-Token": obs.token}, {"Authorization": f"Bearer {obs.token}"}):
        for path in GET_ROUTES:
            assert (await get(http, obs.at(path), headers=headers))[0] == 200, (path, headers)
        async with http.ws_connect(obs.at("/ws"), headers=headers) as ws:
            assert "processes" in await ws.receive_json(timeout=GUARD)


async def test_beyond_loopback_the_page_opened_with_its_token_can_load_its_own_files(
    observe: Observe,
) -> None:
    obs = await observe(host="0.0.0.0")
    # a browser: it keeps the page's cookies (from an IP address too), and it fetches the
    # script and the stylesheet the page names without the page's query
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        assert (await get(browser, obs.at("/"), params={"token": obs.token}))[0] == 200

        for path in PAGE_FILES:  # "/" again: a reload, after the page took the token away
            assert (await get(browser, obs.at(path)))[0] == 200, path
        # the page's script asks for the tree with the token it keeps
        async with browser.ws_connect(obs.at("/ws"), params={"token": obs.token}) as ws:
            assert "processes" in await ws.receive_json(timeout=GUARD)


async def test_the_page_cookie_does_not_open_the_tree(observe: Observe) -> None:
    # a cookie goes to every port of the host: another service there could replay it
    obs = await observe(host="0.0.0.0")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        assert (await get(browser, obs.at("/"), params={"token": obs.token}))[0] == 200
        assert (await get(browser, obs.at("/api/snapshot")))[0] == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await browser.ws_connect(obs.at("/ws"))
        assert refused.value.status == 401


async def test_the_page_cookie_is_http_only_and_strict(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe(host="0.0.0.0")

    async with http.get(obs.at("/"), params={"token": obs.token}) as r:
        cookie = r.headers["Set-Cookie"]

    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert obs.token not in cookie  # the cookie proves the token; it is not the token


async def test_the_page_cookie_does_not_stand_in_for_the_token_of_an_action(
    observe: Observe,
) -> None:
    obs = await observe(host="0.0.0.0")
    victim = otpy.spawn(idle)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        await get(browser, obs.at("/"), params={"token": obs.token})

        status, _ = await act(browser, obs, "kill", victim, token=None)

    assert status == 401
    assert otpy.is_alive(victim)
    otpy.exit(victim, "kill")


async def test_on_loopback_the_page_api_and_socket_need_no_token(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()

    for path in GET_ROUTES:
        assert (await get(http, obs.at(path)))[0] == 200, path
    async with http.ws_connect(obs.at("/ws")) as ws:
        assert "processes" in await ws.receive_json(timeout=GUARD)


async def test_on_loopback_an_action_without_the_token_is_401_and_not_done(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    victim = otpy.spawn(idle)

    status, body = await act(http, obs, "kill", victim, token=None)

    assert status == 401 and "token" in body["error"]
    assert otpy.is_alive(victim)
    otpy.exit(victim, "kill")


async def test_on_loopback_an_action_with_a_wrong_token_is_401_and_not_done(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    victim = otpy.spawn(idle)

    assert (await act(http, obs, "kill", victim, token="not-the-token-at-all"))[0] == 401
    assert (await act(http, obs, "kill", victim, token=obs.token[:-1]))[0] == 401
    assert otpy.is_alive(victim)
    otpy.exit(victim, "kill")


async def test_an_action_takes_the_token_as_a_bearer_or_in_the_query_too(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    one, two = otpy.spawn(idle), otpy.spawn(idle)
    refs = otpy.monitor(one), otpy.monitor(two)

    async with http.post(
        obs.at("/api/action"),
        json={"action": "kill", "pid": repr(one)},
        headers={"Authorization": f"Bearer {obs.token}"},
    ) as r:
        assert r.status == 200
    async with http.post(
        obs.at("/api/action"),
        json={"action": "kill", "pid": repr(two)},
        params={"token": obs.token},
    ) as r:
        assert r.status == 200

    assert [(await wait_down(ref)).reason for ref in refs] == ["killed", "killed"]


async def test_a_given_token_is_the_one_in_the_url(observe: Observe) -> None:
    obs = await observe(token="a-token-of-my-own-choosing")

    assert obs.token == "a-token-of-my-own-choosing"
    assert obs.url.path == "/" and obs.url.host == "127.0.0.1"


# -- origin and host -------------------------------------------------------------------------


async def test_a_cross_site_origin_is_403_on_the_socket(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()

    assert await ws_status(http, obs.at("/ws"), origin=EVIL) == 403
    assert await ws_status(http, obs.at("/ws"), origin=EVIL, params={"token": obs.token}) == 403


async def test_a_cross_site_origin_is_403_on_the_api(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    victim = otpy.spawn(idle)

    status, _, _ = await get(http, obs.at("/api/snapshot"), headers={"Origin": EVIL})
    assert status == 403
    async with http.post(
        obs.at("/api/action"),
        json={"action": "kill", "pid": repr(victim)},
        headers={"X-Observer-Token": obs.token, "Origin": EVIL},
    ) as r:
        assert r.status == 403
    assert otpy.is_alive(victim)
    otpy.exit(victim, "kill")


async def test_the_pages_own_origin_is_allowed(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()

    status, _, _ = await get(http, obs.at("/api/snapshot"), headers={"Origin": obs.base})

    assert status == 200
    async with http.ws_connect(obs.at("/ws"), origin=obs.base) as ws:
        assert "processes" in await ws.receive_json(timeout=GUARD)


async def test_on_loopback_a_foreign_host_name_is_refused_without_the_token(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 is same-origin
    # with the observer as far as the browser knows (Origin and Host agree)
    obs = await observe()
    foreign = {"Host": f"evil.example:{obs.port}", "Origin": f"http://evil.example:{obs.port}"}

    for path in GET_ROUTES:
        assert (await get(http, obs.at(path), headers=foreign))[0] == 403, path
    assert await ws_status(http, obs.at("/ws"), headers=foreign) == 403
    with_token = {"params": {"token": obs.token}, "headers": foreign}
    assert (await get(http, obs.at("/api/snapshot"), **with_token))[0] == 200  # the token vouches
    for host in (f"localhost:{obs.port}", f"127.0.0.1:{obs.port}", f"[::1]:{obs.port}"):
        assert (await get(http, obs.at("/api/snapshot"), headers={"Host": host}))[0] == 200


# -- actions --------------------------------------------------------------------------------


async def test_kill_kills_the_process(observe: Observe, http: aiohttp.ClientSession) -> None:
    obs = await observe()
    victim = otpy.spawn(idle)
    ref = otpy.monitor(victim)

    status, body = await act(http, obs, "kill", victim)

    assert (status, body) == (200, {"ok": True, "result": f"killed {victim!r}"})
    assert (await wait_down(ref)).reason == "killed"


async def test_kill_of_a_supervised_child_has_it_restarted(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a")], max_seconds=3600)
    old = await started("a")
    ref = otpy.monitor(old)
    obs = await observe()

    assert (await act(http, obs, "kill", old))[0] == 200

    assert (await wait_down(ref)).reason == "killed"
    new = await started("a")
    assert (await children(sup))["a"].restarts == 1 and new != old
    await otpy.stop(sup)


async def test_restart_of_a_static_child_starts_it_again_under_a_live_supervisor(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    assert isinstance(sup, Pid)
    old, b = await started("a"), await started("b")
    ref = otpy.monitor(old)
    obs = await observe()

    status, body = await act(http, obs, "restart", old)

    assert (status, body) == (200, {"ok": True, "result": "restarted a"})
    assert (await wait_down(ref)).reason == "shutdown"
    assert await next_event() == ("terminate", "a", "shutdown")
    new = await started("a")
    assert new != old
    kids = await children(sup)
    assert (kids["a"].pid, kids["a"].status, kids["b"].pid) == (new, "running", b)
    assert otpy.is_alive(sup)
    await otpy.stop(sup)


async def test_restart_of_a_temporary_child_is_refused_and_it_keeps_running(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    # terminate_child removes a temporary child: a restart would lose it
    sup = await Supervisor.start_link([worker("t", restart="temporary")])
    t = await started("t")
    obs = await observe()

    status, body = await act(http, obs, "restart", t)

    assert status == 409 and "temporary" in body["error"]
    assert (await children(sup))["t"].pid == t
    await assert_no_events()
    await otpy.stop(sup)


async def test_terminate_stops_a_static_child_and_keeps_its_spec(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await Supervisor.start_link([worker("a"), worker("b")])
    assert isinstance(sup, Pid)
    a = await started("a")
    await started("b")
    ref = otpy.monitor(a)
    obs = await observe()

    status, body = await act(http, obs, "terminate", a)

    assert (status, body) == (200, {"ok": True, "result": f"terminated {a!r}"})
    assert (await wait_down(ref)).reason == "shutdown"
    assert await next_event() == ("terminate", "a", "shutdown")
    info = (await children(sup))["a"]
    assert (info.pid, info.status) == (None, "undefined")
    async with http.get(obs.at("/api/snapshot")) as r:
        child = child_of(await r.json(), sup, "a")
    assert (child["pid"], child["status"]) == (None, "undefined")
    await assert_no_events()  # not restarted
    await otpy.stop(sup)


async def test_a_dynamic_child_cannot_be_restarted_but_can_be_terminated(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    sup = await DynamicSupervisor.start_link()
    assert isinstance(sup, Pid)
    job = await start_child(sup, worker("job"))
    await started("job")
    ref = otpy.monitor(job)
    obs = await observe()

    status, body = await act(http, obs, "restart", job)
    assert status == 409 and "DynamicSupervisor" in body["error"]
    assert [c.pid for c in await which_children(sup)] == [job]

    assert (await act(http, obs, "terminate", job))[0] == 200
    assert (await wait_down(ref)).reason == "shutdown"
    assert await which_children(sup) == []  # a dynamic child is removed once terminated
    await otpy.stop(sup)


async def test_restart_or_terminate_of_a_process_outside_trees_is_refused(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    loose = otpy.spawn(idle)

    for action in ("restart", "terminate"):
        status, body = await act(http, obs, action, loose)
        assert status == 409 and "not a supervisor's child" in body["error"]
    assert otpy.is_alive(loose)
    otpy.exit(loose, "kill")


async def test_a_client_is_closed_then_reconnected_from_the_observer(
    observe: Observe, http: aiohttp.ClientSession, ws_server: Server
) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await client_event("connect")
    obs = await observe()

    assert await act(http, obs, "close", pid) == (200, {"ok": True, "result": "close: done"})
    await ws_server.wait_received(CloseFrame(1000, "closed from the observer"))
    assert isinstance(await client_event("disconnect"), wsclient.LocalClosed)
    assert (await wsclient.stats(pid)).state == "down"

    assert (await act(http, obs, "reconnect", pid))[0] == 200
    await ws_server.wait_connections(2)
    await client_event("connect")
    assert (await wsclient.stats(pid)).state == "connected"
    await otpy.stop(pid)


async def test_reconnect_of_a_connected_client_makes_a_new_connection(
    observe: Observe, http: aiohttp.ClientSession, ws_server: Server
) -> None:
    pid = await Reporter.start_link(ws_server.url, otpy.self_pid())
    await client_event("connect")
    obs = await observe()

    assert await act(http, obs, "reconnect", pid) == (
        200,
        {"ok": True, "result": "reconnect: done"},
    )

    await ws_server.wait_received(CloseFrame(1000, "reconnecting, from the observer"))
    await ws_server.wait_connections(2)
    assert isinstance(await client_event("disconnect"), wsclient.LocalClosed)
    await client_event("connect")
    await otpy.stop(pid)


async def test_an_unknown_action_is_409(observe: Observe, http: aiohttp.ClientSession) -> None:
    obs = await observe()
    server = await Plain.start(None)
    assert isinstance(server, Pid)

    for action in ("explode", "close", "reconnect", "__class__"):  # a plain GenServer has none
        status, body = await act(http, obs, action, server)
        assert status == 409 and "no action" in body["error"], action
    assert otpy.is_alive(server)
    await otpy.stop(server)


async def test_a_malformed_action_is_400(observe: Observe, http: aiohttp.ClientSession) -> None:
    obs = await observe()
    headers = {"X-Observer-Token": obs.token}

    for body in (b"not json", b"[]", b'"kill"', b'{"action": "kill"}', b'{"pid": "<0.1.0>"}'):
        async with http.post(obs.at("/api/action"), data=body, headers=headers) as r:
            assert r.status == 400, body
            assert "action, pid" in (await r.json())["error"]


async def test_an_action_on_a_dead_pid_is_409(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    gone = otpy.spawn(idle)
    ref = otpy.monitor(gone)
    otpy.exit(gone, "kill")
    await wait_down(ref)

    for pid in (repr(gone), "<0.999999999.0>", "not a pid"):
        status, body = await act(http, obs, "kill", pid)
        assert status == 409 and "not alive" in body["error"], pid


async def test_an_action_done_is_logged(observe: Observe, http: aiohttp.ClientSession) -> None:
    victim = otpy.spawn(idle)
    ref = otpy.monitor(victim)
    with capture_logs() as logs:
        obs = await observe()
        assert (await act(http, obs, "kill", victim))[0] == 200
        await wait_down(ref)

    done = [e for e in logs if e["event"] == "observer_action"]
    assert [(e["action"], e["target"]) for e in done] == [("kill", repr(victim))]


# -- the observer's own failures ---------------------------------------------------------------


async def test_a_port_already_taken_makes_the_observer_ignored_and_the_tree_start() -> None:
    with taken_port() as taken:
        port = taken.getsockname()[1]
        with capture_logs() as logs:
            sup = await Supervisor.start_link(
                [worker("w"), Observer.child_spec(port=port, print_url=False)]
            )
            w = await started("w")

    assert isinstance(sup, Pid)
    assert [(c.id, c.pid) for c in await which_children(sup)] == [("w", w)]
    (failed,) = [e for e in logs if e["event"] == "observer_start_failed"]
    assert (failed["log_level"], failed["host"], failed["port"]) == ("error", "127.0.0.1", port)
    assert otpy.whereis("otpy.observer") is None
    assert taps() == []
    await otpy.stop(sup)


async def test_start_link_of_an_observer_on_a_taken_port_returns_none() -> None:
    with taken_port() as taken:
        pid = await Observer.start_link(
            ObserverOptions(port=taken.getsockname()[1], print_url=False)
        )

    assert pid is None


async def test_killing_the_observer_in_a_tree_leaves_the_tree_running() -> None:
    sup = await Supervisor.start_link(
        [worker("w"), Observer.child_spec(port=0, print_url=False, interval=INTERVAL)],
        max_restarts=0,  # one restart would end the supervisor
    )
    assert isinstance(sup, Pid)
    w = await started("w")
    obs = await running("otpy.observer")
    ref = otpy.monitor(obs.pid)

    otpy.exit(obs.pid, "kill")

    assert (await wait_down(ref)).reason == "killed"
    assert [(c.id, c.pid) for c in await which_children(sup)] == [("w", w)]  # temporary: gone
    assert otpy.is_alive(sup) and otpy.is_alive(w)
    await assert_no_events()
    await otpy.stop(sup)


async def test_a_crashed_observer_is_not_restarted_and_not_counted_by_the_tree() -> None:
    sup = await Supervisor.start_link(
        [worker("w"), Observer.child_spec(port=0, print_url=False, interval=INTERVAL)],
        max_restarts=0,  # one restart would end the supervisor
    )
    assert isinstance(sup, Pid)
    w = await started("w")
    obs = await running("otpy.observer")
    ref = otpy.monitor(obs.pid)

    otpy.cast(obs.pid, "no such request")  # an observer takes no casts: it crashes

    assert isinstance((await wait_down(ref)).reason, otpy.Unhandled)
    assert [(c.id, c.pid) for c in await which_children(sup)] == [("w", w)]
    assert (await otpy.supervisor.supervisor_flags(sup))["restarts_in_window"] == 0
    assert await port_refuses(obs.port)
    assert taps() == []
    await assert_no_events()
    await otpy.stop(sup)


async def test_the_observer_under_a_tree_answers_at_its_default_name(
    http: aiohttp.ClientSession,
) -> None:
    sup = await Supervisor.start_link([Observer.child_spec(port=0, print_url=False)])
    assert isinstance(sup, Pid)

    url = await observer_url()

    assert (await get(http, url))[0] == 200
    await otpy.stop(sup)


async def test_once_stopped_the_observer_closes_its_port_and_removes_its_tap(
    observe: Observe,
) -> None:
    obs = await observe()
    assert not await port_refuses(obs.port)
    assert len(taps()) == 1

    ref = otpy.monitor(obs.pid)
    await otpy.stop(obs.pid)
    await wait_down(ref)

    assert await port_refuses(obs.port)
    assert taps() == []


async def test_once_killed_the_observer_closes_its_port_and_removes_its_tap(
    observe: Observe,
) -> None:
    obs = await observe()
    assert len(taps()) == 1
    ref = otpy.monitor(obs.pid)

    otpy.exit(obs.pid, "kill")
    assert (await wait_down(ref)).reason == "killed"

    assert await port_refuses(obs.port)
    assert taps() == []


async def test_killed_with_a_page_connected_the_observer_closes_its_port_and_the_socket(
    observe: Observe, http: aiohttp.ClientSession
) -> None:
    obs = await observe()
    async with http.ws_connect(obs.at("/ws")) as ws:
        await ws.receive_json(timeout=GUARD)
        ref = otpy.monitor(obs.pid)

        otpy.exit(obs.pid, "kill")
        assert (await wait_down(ref)).reason == "killed"

        assert await port_refuses(obs.port)
        assert taps() == []
        async with asyncio.timeout(GUARD):  # pushes that were under way may still arrive
            while (await ws.receive()).type is aiohttp.WSMsgType.TEXT:
                pass


async def test_stopped_by_its_supervisor_with_a_page_connected_the_socket_is_closed(
    http: aiohttp.ClientSession,
) -> None:
    sup = await Supervisor.start_link([Observer.child_spec(port=0, print_url=False)])
    obs = await running("otpy.observer")
    async with http.ws_connect(obs.at("/ws")) as ws:
        await ws.receive_json(timeout=GUARD)
        ref = otpy.monitor(obs.pid)

        await terminate_child(sup, "observer")
        assert (await wait_down(ref)).reason == "shutdown"

        async with asyncio.timeout(GUARD):
            while (msg := await ws.receive()).type is aiohttp.WSMsgType.TEXT:
                pass
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1001
    assert await port_refuses(obs.port)
    assert taps() == []
    await otpy.stop(sup)


async def test_print_url_prints_the_address_with_its_token(
    observe: Observe, capsys: pytest.CaptureFixture[str]
) -> None:
    obs = await observe(print_url=True)

    err = capsys.readouterr().err

    assert f"otpy observer: {obs.url}" in err and obs.token in err


async def test_without_print_url_nothing_is_printed(
    observe: Observe, capsys: pytest.CaptureFixture[str]
) -> None:
    obs = await observe()

    assert obs.token not in capsys.readouterr().err


# -- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"port": -1},
        {"port": 65536},
        {"port": "8040"},
        {"port": True},
        {"port": 80.0},
        {"token": "too-short"},
        {"token": 1234567890123456789},
        {"interval": 0},
        {"interval": 0.01},
        {"interval": 61},
        {"interval": "1"},
        {"interval": True},
        {"host": ""},
    ],
    ids=repr,
)
def test_a_bad_option_raises_value_error_at_child_spec(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Observer.child_spec(**options)


def test_good_options_make_a_temporary_child_named_otpy_observer() -> None:
    spec = Observer.child_spec(port=0, token="sixteen-chars-ok", interval=0.05)

    assert (spec.id, spec.restart) == ("observer", "temporary")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_loopback_is_this_machine_only(host: str, loopback: bool) -> None:
    assert ObserverOptions(host=host).loopback is loopback
