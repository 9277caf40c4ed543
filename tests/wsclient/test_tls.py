"""wss:// against a local aiohttp server whose certificate a throwaway CA (trustme) signed."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

import otpy
import wsclient
from wsclient import Ok, Text

from .support import Reporter, next_event

MakeServer = Callable[..., Awaitable[TestServer]]


class StaysDown(Reporter):
    """Reports like Reporter, and stays down after any disconnect."""

    async def handle_disconnect(self, reason: Any, state: Any) -> Any:
        otpy.send(state, ("disconnect", reason))
        return Ok(state)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test CA (and verifies host names, as by default)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(ctx)
    return ctx


class EchoApp:
    """An aiohttp app echoing text on /ws; `upgrades` counts the handshakes it accepted."""

    def __init__(self) -> None:
        self.upgrades = 0
        self.app = web.Application()
        self.app.router.add_get("/ws", self.handle)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.upgrades += 1
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws


async def tls_server(
    aiohttp_server: MakeServer, ca: trustme.CA, *hosts: str
) -> tuple[EchoApp, str]:
    """Start an echo app over TLS with a certificate for `hosts`; return it and its wss URL."""
    cert = ca.issue_cert(*(hosts or ("127.0.0.1", "localhost")))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    echo = EchoApp()
    server = await aiohttp_server(echo.app, ssl=ctx)
    return echo, f"wss://127.0.0.1:{server.port}/ws"


async def test_a_certificate_from_an_unknown_ca_is_refused_by_default(
    aiohttp_server: MakeServer, ca: trustme.CA
) -> None:
    echo, url = await tls_server(aiohttp_server, ca)
    pid = await StaysDown.start_link(url, otpy.self_pid())
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.ConnectFailed), reason
    assert isinstance(
        reason.error, ssl.SSLCertVerificationError | aiohttp.ClientConnectorCertificateError
    ), repr(reason.error)
    assert echo.upgrades == 0
    await otpy.stop(pid)


async def test_a_context_trusting_the_ca_connects(
    aiohttp_server: MakeServer, ca: trustme.CA, client_ctx: ssl.SSLContext
) -> None:
    _, url = await tls_server(aiohttp_server, ca)
    pid = await StaysDown.start_link(url, otpy.self_pid(), ssl=client_ctx)
    status = await next_event("connect")
    assert status.status == 101 and status.url == url
    await otpy.stop(pid)


async def test_echo_works_over_tls(
    aiohttp_server: MakeServer, ca: trustme.CA, client_ctx: ssl.SSLContext
) -> None:
    _, url = await tls_server(aiohttp_server, ca)
    pid = await StaysDown.start_link(url, otpy.self_pid(), ssl=client_ctx)
    await next_event("connect")
    await wsclient.send_frame(pid, Text("over tls"))
    assert await next_event("frame") == Text("over tls")
    await otpy.stop(pid)


async def test_ssl_false_accepts_an_untrusted_certificate(
    aiohttp_server: MakeServer, ca: trustme.CA
) -> None:
    echo, url = await tls_server(aiohttp_server, ca)
    pid = await StaysDown.start_link(url, otpy.self_pid(), ssl=False)
    await next_event("connect")
    await wsclient.send_frame(pid, Text("unverified"))
    assert await next_event("frame") == Text("unverified")
    assert echo.upgrades == 1
    await otpy.stop(pid)


async def test_a_certificate_for_another_host_is_refused_even_from_a_trusted_ca(
    aiohttp_server: MakeServer, ca: trustme.CA, client_ctx: ssl.SSLContext
) -> None:
    echo, url = await tls_server(aiohttp_server, ca, "other.example")
    pid = await StaysDown.start_link(url, otpy.self_pid(), ssl=client_ctx)
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.ConnectFailed), reason
    assert isinstance(
        reason.error, ssl.SSLCertVerificationError | aiohttp.ClientConnectorCertificateError
    ), repr(reason.error)
    assert echo.upgrades == 0
    await otpy.stop(pid)


async def test_a_plain_ws_url_against_the_tls_port_does_not_connect(
    aiohttp_server: MakeServer, ca: trustme.CA
) -> None:
    _, url = await tls_server(aiohttp_server, ca)
    pid = await StaysDown.start_link(url.replace("wss://", "ws://"), otpy.self_pid())
    reason = await next_event("disconnect")
    assert isinstance(reason, wsclient.ConnectFailed), reason  # the TLS server hangs up
    await otpy.stop(pid)
