"""The observer's own failures never take the tree down; it cleans up however it ends; its
options."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

import otpy
from otpy import Pid, Supervisor
from otpy.observer import Observer, ObserverOptions, observer_url
from otpy.supervisor import terminate_child, which_children

from ..otpy.supervision_support import (
    assert_no_events,
    started,
    worker,
)
from ..otpy.support import wait_down
from .endpoints_support import (
    Observe,
    get,
    port_refuses,
    taken_port,
    taps,
)
from .support import GUARD, INTERVAL, running

pytestmark = pytest.mark.timeout(30)


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
