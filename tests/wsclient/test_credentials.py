"""Credentials (the URL's userinfo, Authorization and Cookie headers) are sent, and never shown:
not in a log event, a disconnect reason, an exit reason, an error message or a repr.

Most tests run one client through a whole life under a supervisor: connect, a frame, a drop, a
refused handshake, a refused port, a close, a reconnect, a crash in ``handle_frame`` and its
restart, and a stop; then look at everything that life produced.
"""

from __future__ import annotations

import base64
import socket
import traceback
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from multidict import CIMultiDict
from structlog.testing import capture_logs

import otpy
import wsclient
from wsclient import Backoff, Ok, Text
from wsclient.testing import Server

from ..otpy.support import wait_down
from .support import GUARD, Reporter, next_event

FAST = Backoff(initial=0.001, cap=0.005, after_drop=0.001)
PASSWORD = "s3cretpw"
PROXY_PASSWORD = "pr0xypw99"
TOKEN = "tok123456"
COOKIE = "cookie987654"
SECRETS = (PASSWORD, TOKEN, COOKIE)
AUTH_HEADERS = {"Authorization": f"Bearer {TOKEN}", "Cookie": f"sid={COOKIE}"}
COOKIE_ONLY = {"Cookie": f"sid={COOKIE}"}


class Crashy(Reporter):
    """A Reporter whose handle_frame crashes on Text("crash")."""

    async def handle_frame(self, frame: Any, state: Any) -> Any:
        if frame == Text("crash"):
            raise RuntimeError("boom in handle_frame")
        return await super().handle_frame(frame, state)


class StaysDown(Reporter):
    async def handle_disconnect(self, reason: Any, state: Any) -> Any:
        otpy.send(state, ("disconnect", reason))
        return Ok(state)


def url_with_userinfo(server: Server) -> str:
    return f"ws://user:{PASSWORD}@127.0.0.1:{server.port}/"


@dataclass
class Life:
    logs: list[MutableMapping[str, Any]] = field(default_factory=list)
    reasons: list[Any] = field(default_factory=list)
    exits: list[Any] = field(default_factory=list)
    statuses: list[Any] = field(default_factory=list)
    stats_urls: list[str] = field(default_factory=list)


async def _child(sup: otpy.Pid) -> otpy.Pid:
    (child,) = await otpy.supervisor.which_children(sup)
    assert child.pid is not None
    return child.pid


async def _until_disconnect(life: Life, kind: type) -> Any:
    """Record every disconnect reported until one of `kind`."""
    while True:
        reason = await next_event("disconnect")
        life.reasons.append(reason)
        if isinstance(reason, kind):
            return reason


async def _live(server: Server, life: Life, sup: otpy.Pid) -> None:
    """The life itself: every step waits for what it causes."""
    pid = await _child(sup)
    ref = otpy.monitor(pid)
    life.statuses.append(await next_event("connect"))
    life.stats_urls.append((await wsclient.stats(pid)).url)
    await server.push(Text("hello"))
    assert await next_event("frame") == Text("hello")

    server.refuse(401)  # the reconnect after the drop is refused
    server.drop()
    await _until_disconnect(life, wsclient.HandshakeRejected)
    life.statuses.append(await next_event("connect"))

    await server.stop()  # nothing listens on the port for a while
    await _until_disconnect(life, wsclient.ConnectFailed)
    await server.start()
    life.statuses.append(await next_event("connect"))

    await wsclient.close(pid, 4000, "bye")
    await _until_disconnect(life, wsclient.LocalClosed)
    await wsclient.connect(pid, timeout=GUARD)
    life.statuses.append(await next_event("connect"))

    await server.push(Text("crash"))  # the supervisor restarts the client
    life.exits.append((await wait_down(ref)).reason)
    life.statuses.append(await next_event("connect"))
    pid = await _child(sup)
    ref = otpy.monitor(pid)
    await otpy.stop(sup)
    life.exits.append((await wait_down(ref)).reason)


async def full_life(server: Server, url: str, headers: dict[str, str]) -> Life:
    life = Life()
    spec = Crashy.child_spec(
        {"url": url, "arg": otpy.self_pid(), "headers": headers, "backoff": FAST}
    )
    with capture_logs() as logs:
        sup = await otpy.Supervisor.start([spec])
        assert sup is not None
        try:
            await _live(server, life, sup)
        finally:
            if otpy.is_alive(sup):  # a failed step: leave nothing running behind the test
                await otpy.stop(sup)
    while True:  # the disconnects reported and not yet looked at
        try:
            msg = await otpy.receive(
                match=lambda m: type(m) is tuple and m[0] == "disconnect", timeout=0
            )
        except otpy.ReceiveTimeout:
            break
        life.reasons.append(msg[1])
    life.logs = logs
    return life


def _shown(value: Any) -> str:
    """Everything a value can show: str, repr, and for an exception its formatted traceback
    (with its causes) too."""
    parts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        parts.append("".join(traceback.format_exception(value)))
    error = getattr(value, "error", None)
    if isinstance(error, BaseException):
        parts.append(_shown(error))
    return "\n".join(parts)


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


CREDENTIALS = pytest.mark.parametrize(
    ("userinfo", "headers"),
    [
        pytest.param(False, AUTH_HEADERS, id="authorization-and-cookie-headers"),
        pytest.param(True, COOKIE_ONLY, id="url-userinfo-and-cookie-header"),
    ],
)


def _url(server: Server, userinfo: bool) -> str:
    return url_with_userinfo(server) if userinfo else server.url


# -- one whole life ---------------------------------------------------------------------------


@CREDENTIALS
async def test_no_log_event_of_a_whole_life_shows_a_secret(
    ws_server: Server, userinfo: bool, headers: dict[str, str]
) -> None:
    life = await full_life(ws_server, _url(ws_server, userinfo), headers)
    names = {e["event"] for e in life.logs}
    assert {"ws_connecting", "ws_disconnected", "process_crashed"} <= names  # it did log
    for event in life.logs:
        shown = str(event)
        exc = event.get("exc_info")
        if isinstance(exc, BaseException):
            shown += _shown(exc)
        assert not _leaks(shown), event


@CREDENTIALS
async def test_no_disconnect_reason_of_a_whole_life_shows_a_secret(
    ws_server: Server, userinfo: bool, headers: dict[str, str]
) -> None:
    life = await full_life(ws_server, _url(ws_server, userinfo), headers)
    kinds = {type(r) for r in life.reasons}
    assert {
        wsclient.TransportError,
        wsclient.HandshakeRejected,
        wsclient.ConnectFailed,
        wsclient.LocalClosed,
    } <= kinds
    for reason in life.reasons:
        assert not _leaks(_shown(reason)), repr(reason)


@CREDENTIALS
async def test_no_exit_reason_of_a_whole_life_shows_a_secret(
    ws_server: Server, userinfo: bool, headers: dict[str, str]
) -> None:
    life = await full_life(ws_server, _url(ws_server, userinfo), headers)
    crash, stop = life.exits
    assert isinstance(crash, RuntimeError) and stop == "shutdown"
    for reason in life.exits:
        assert not _leaks(_shown(reason)), repr(reason)


async def test_the_url_in_logs_status_and_stats_has_no_userinfo(ws_server: Server) -> None:
    life = await full_life(ws_server, url_with_userinfo(ws_server), COOKIE_ONLY)
    bare = f"ws://127.0.0.1:{ws_server.port}/"
    connecting = [e for e in life.logs if e["event"] == "ws_connecting"]
    assert connecting and {e["url"] for e in connecting} == {bare}
    assert {s.url for s in life.statuses} == {bare}
    assert life.stats_urls == [bare]


async def test_url_userinfo_together_with_an_authorization_header_is_refused_at_start(
    ws_server: Server,
) -> None:
    """aiohttp cannot send both: the mistake fails in the caller, and shows neither secret."""
    with pytest.raises(wsclient.InvalidOption) as err:
        await StaysDown.start_link(
            url_with_userinfo(ws_server), otpy.self_pid(), headers=AUTH_HEADERS
        )
    assert "credentials once" in str(err.value)
    assert not _leaks(str(err.value)) and not _leaks(repr(err.value))


# -- what the server receives ---------------------------------------------------------------


async def test_the_server_receives_the_authorization_and_cookie_headers(
    ws_server: Server,
) -> None:
    pid = await StaysDown.start_link(ws_server.url, otpy.self_pid(), headers=AUTH_HEADERS)
    await next_event("connect")
    await ws_server.wait_connections(1)  # the server has recorded the handshake
    (handshake,) = ws_server.handshakes
    assert handshake["Authorization"] == f"Bearer {TOKEN}"
    assert handshake["Cookie"] == f"sid={COOKIE}"
    await otpy.stop(pid)


async def test_the_server_receives_basic_auth_from_the_url_userinfo(ws_server: Server) -> None:
    pid = await StaysDown.start_link(url_with_userinfo(ws_server), otpy.self_pid())
    await next_event("connect")
    await ws_server.wait_connections(1)  # the server has recorded the handshake
    (handshake,) = ws_server.handshakes
    expected = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert handshake["Authorization"] == f"Basic {expected}"
    await otpy.stop(pid)


# -- errors and reprs -------------------------------------------------------------------------


async def test_a_refusal_that_sets_the_cookie_again_does_not_show_it_in_the_reason(
    ws_server: Server,
) -> None:
    ws_server.refuse(401, {"Set-Cookie": f"sid={COOKIE}; HttpOnly"})
    pid = await StaysDown.start_link(ws_server.url, otpy.self_pid(), headers=COOKIE_ONLY)
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.HandshakeRejected) and reason.status == 401
    assert reason.headers["Set-Cookie"] == f"sid={COOKIE}; HttpOnly"  # there for the callback
    assert COOKIE not in str(reason) and COOKIE not in repr(reason)
    await otpy.stop(pid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_a_refused_proxy_shows_neither_its_password_in_the_reason_nor_in_logs(
    ws_server: Server,
) -> None:
    proxy = f"http://puser:{PROXY_PASSWORD}@127.0.0.1:{_free_port()}"
    with capture_logs() as logs:
        pid = await StaysDown.start_link(ws_server.url, otpy.self_pid(), proxy=proxy)
        reason = await next_event("disconnect")
        await otpy.stop(pid)
    assert isinstance(reason, wsclient.ConnectFailed), reason
    assert PROXY_PASSWORD not in _shown(reason)
    assert logs and not [e for e in logs if PROXY_PASSWORD in str(e)]


@pytest.mark.parametrize("name", ["Cookie", "Authorization", "proxy-authorization"])
async def test_a_bad_secret_header_value_is_not_shown_in_the_error(name: str) -> None:
    with pytest.raises(wsclient.InvalidOption) as info:
        await StaysDown.start_link(
            "ws://127.0.0.1:1/", otpy.self_pid(), headers={name: f"sid={COOKIE}\nX-Evil: 1"}
        )
    assert name in str(info.value)  # it says which header is wrong
    assert COOKIE not in str(info.value) and COOKIE not in repr(info.value)


async def test_an_invalid_url_error_does_not_show_the_password() -> None:
    with pytest.raises(wsclient.InvalidURL) as info:
        await StaysDown.start_link(f"http://user:{PASSWORD}@127.0.0.1:1/", otpy.self_pid())
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value)


def test_the_repr_of_options_hides_secret_headers() -> None:
    opts = wsclient.Options(headers=CIMultiDict({**AUTH_HEADERS, "X-Plain": "visible"}))
    for shown in (repr(opts), str(opts)):
        assert not _leaks(shown), shown
        assert "visible" in shown  # ordinary headers are shown
