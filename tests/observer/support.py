"""Shared pieces of the observer tests: an Observer started for real, and the HTTP calls made to
it over 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl

import otpy
from otpy import Pid
from otpy.observer import Observer, ObserverOptions, observer_url

from ..otpy.support import wait_down

#: A guard for waits that are expected to end soon: it only bounds a failing test.
GUARD = 5.0
#: The push interval the tests use (the observer's own clock, not a wait of the tests).
INTERVAL = 0.05


@dataclass(frozen=True)
class Running:
    """An observer started by a test."""

    pid: Pid
    #: What observer_url() returned (with the token).
    url: yarl.URL
    token: str
    port: int

    @property
    def base(self) -> str:
        """Where the tests reach it: 127.0.0.1, whatever address it is bound to."""
        return f"http://127.0.0.1:{self.port}"

    def at(self, path: str) -> str:
        return self.base + path


async def start_observer(**options: Any) -> Running:
    """Start an Observer (not linked to the test: a test may kill it) on a free port."""
    opts = ObserverOptions(**{"port": 0, "print_url": False, "interval": INTERVAL, **options})
    pid = await Observer.start(opts)
    assert isinstance(pid, Pid)
    return await running(pid)


async def running(pid: Any) -> Running:
    """The Running view of the observer `pid` (or name), from its observer_url()."""
    url = yarl.URL(await observer_url(pid))
    assert url.port is not None
    real = otpy.whereis(pid) if isinstance(pid, str) else pid
    assert isinstance(real, Pid)
    return Running(real, url, url.query["token"], url.port)


async def stop_observer(obs: Running) -> None:
    """Stop the observer and wait for its Down (nothing if it is already gone)."""
    ref = otpy.monitor(obs.pid)
    if otpy.is_alive(obs.pid):
        await otpy.stop(obs.pid)
    await wait_down(ref, GUARD)


async def act(
    http: aiohttp.ClientSession,
    obs: Running,
    action: str,
    pid: Any,
    *,
    token: str | None = "",
) -> tuple[int, dict[str, Any]]:
    """POST /api/action {action, pid}, with the observer's token (by default), `token` given,
    or none (None); return the status and the JSON answer."""
    headers = {}
    given = obs.token if token == "" else token
    if given is not None:
        headers["X-Observer-Token"] = given
    body = {"action": action, "pid": pid if isinstance(pid, str) else repr(pid)}
    async with http.post(obs.at("/api/action"), json=body, headers=headers) as r:
        return r.status, await r.json()


def child_of(state: dict[str, Any], sup: Pid, child_id: str) -> dict[str, Any]:
    """The JSON of child `child_id` of supervisor `sup` in a pushed state."""
    for s in state["supervisors"]:
        if s["pid"] == repr(sup):
            for c in s["children"]:
                if c["id"] == child_id:
                    return c  # type: ignore[no-any-return]
    raise AssertionError(f"no child {child_id!r} of {sup!r} in the state")


async def states_until(
    ws: aiohttp.ClientWebSocketResponse,
    done: Callable[[dict[str, Any], list[dict[str, Any]]], bool],
    timeout: float = GUARD,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read pushed states until ``done(state, events so far)``; return both. The guard only
    bounds a failing test: the observer pushes every INTERVAL seconds."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, f"the observer's socket ended: {msg!r}"
            state = json.loads(msg.data)
            events.extend(state["events"])
            if done(state, events):
                return state, events
