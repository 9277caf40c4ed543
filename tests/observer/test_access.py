"""Who may read the observer and act through it: the token, its cookie, the origin and host
checks."""

from __future__ import annotations

import json

import aiohttp
import pytest

import otpy

from ..otpy.support import idle, wait_down
from .endpoints_support import (
    EVIL,
    GET_ROUTES,
    PAGE_FILES,
    Observe,
    get,
    ws_status,
)
from .support import GUARD, act

pytestmark = pytest.mark.timeout(30)


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
