"""``wsclient connect URL`` in a real subprocess against a local server."""

from __future__ import annotations

import json
import re
from typing import Any

from wsclient import Binary, CloseFrame, Text
from wsclient.testing import Server

_STAMP = r"\d\d:\d\d:\d\d\.\d\d\d"


async def test_connect_prints_text_frames_with_a_timestamp(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url)
    await ws_server.wait_connections(1)
    await ws_server.push(Text("hello there"))
    line = await c.out.wait_text("hello there")
    assert re.fullmatch(rf"{_STAMP} hello there", line), line


async def test_connect_prints_binary_frames_as_a_hex_preview(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url)
    await ws_server.wait_connections(1)
    await ws_server.push(Binary(bytes(range(40))))
    line = await c.out.wait_text("[binary")
    assert line.endswith("[binary 40 B] 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f …"), line


async def test_connect_sends_each_stdin_line_as_a_text_frame_in_order(
    cli, ws_server: Server
) -> None:
    c = await cli("connect", ws_server.url)
    await ws_server.wait_connections(1)
    for line in ("first", "second", "héllo"):
        await c.send_line(line)
    await ws_server.wait_count(3)
    assert ws_server.received[:3] == [Text("first"), Text("second"), Text("héllo")]


async def test_lines_written_before_the_connection_is_up_are_sent_once_it_is(cli) -> None:
    async with Server() as srv:
        port = srv.port
    c = await cli("connect", f"ws://127.0.0.1:{port}/")
    await c.send_line("queued while down")
    await c.err.wait_text("reconnecting in")
    async with Server(port=port) as srv:
        await srv.wait_received(Text("queued while down"), timeout=10)
        assert srv.received == [Text("queued while down")]


async def test_connect_shows_the_disconnect_and_the_retry_delay_after_a_server_restart(
    cli, ws_server: Server
) -> None:
    c = await cli("connect", ws_server.url)
    await ws_server.wait_connections(1)
    first = await c.err.wait_text("connected")
    await ws_server.restart()
    await ws_server.wait_connections(2)
    mark = c.err.lines.index(first) + 1
    await c.err.wait_text("disconnected: the connection broke", after=mark)
    retry = await c.err.wait_text("reconnecting in", after=mark)
    assert re.search(r"reconnecting in \d+\.\d\d s \(attempt 1\)", retry), retry
    await c.err.wait_line(lambda s: s.endswith(" connected"), "a second connect", after=mark)
    # and frames flow again on the new connection
    await ws_server.push(Text("after the restart"))
    await c.out.wait_text("after the restart")


async def test_sigint_closes_with_1000_and_exits_0(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url)
    await ws_server.wait_connections(1)
    await c.err.wait_text("connected")
    c.interrupt()
    assert await c.wait() == 0
    await ws_server.wait_received(CloseFrame(1000, ""))


async def test_end_of_stdin_closes_with_1000_and_exits_0(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url)
    await ws_server.wait_connections(1)
    await c.send_line("last words")
    c.close_stdin()
    assert await c.wait() == 0
    await ws_server.wait_received(CloseFrame(1000, ""))
    assert ws_server.received == [Text("last words"), CloseFrame(1000, "")]


async def test_no_reconnect_exits_1_when_the_connection_is_lost(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url, "--no-reconnect")
    await ws_server.wait_connections(1)
    await c.err.wait_text("connected")
    ws_server.drop()
    assert await c.wait() == 1
    assert "--no-reconnect" in c.err.text
    assert ws_server.connections_total == 1


async def test_json_mode_writes_one_json_object_per_line(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url, "--json")
    await ws_server.wait_connections(1)
    await ws_server.push([Text("tick"), Binary(b"\x00\xff")])
    await c.out.wait_text('"binary"')
    c.interrupt()
    assert await c.wait() == 0
    frames = [json.loads(line) for line in c.out.lines]
    assert [(f["type"], f.get("data"), f.get("base64")) for f in frames] == [
        ("text", "tick", None),
        ("binary", None, "AP8="),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", f["ts"]) for f in frames)
    events = [json.loads(line) for line in c.err.lines]
    names = [e["event"] for e in events]
    assert "ws_connected" in names and "cli_closed" in names
    assert all("timestamp" in e and "level" in e for e in events)


async def test_header_is_sent_and_a_secret_one_is_never_printed(cli, ws_server: Server) -> None:
    c = await cli(
        "connect", ws_server.url, "--json", "-H", "Authorization: Bearer s3cr3t",
        "--header", "X-Feed: prices",
    )  # fmt: skip
    await ws_server.wait_connections(1)
    headers = ws_server.handshakes[0]
    assert headers["Authorization"] == "Bearer s3cr3t"
    assert headers["X-Feed"] == "prices"
    c.interrupt()
    assert await c.wait() == 0
    assert "s3cr3t" not in c.out.text + c.err.text


async def test_subprotocol_is_offered(cli) -> None:
    async with Server(subprotocols=["v2.feed"]) as srv:
        c = await cli("connect", srv.url, "--subprotocol", "v2.feed")
        line = await c.err.wait_text("connected")
        assert line.endswith("connected (subprotocol v2.feed)"), line
        assert srv.handshakes[0]["Sec-WebSocket-Protocol"] == "v2.feed"


async def test_plain_output_has_no_colour_codes_when_not_on_a_terminal(
    cli, ws_server: Server
) -> None:
    c = await cli("connect", ws_server.url)
    await ws_server.wait_connections(1)
    await ws_server.push(Text("plain"))
    await c.out.wait_text("plain")
    c.interrupt()
    assert await c.wait() == 0
    assert "\x1b[" not in c.out.text + c.err.text


async def test_force_color_colours_and_no_color_takes_the_colour_away(
    cli, ws_server: Server
) -> None:
    colour = re.compile(r"\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;)")
    coloured = await cli("connect", ws_server.url, env={"FORCE_COLOR": "1"})
    await coloured.err.wait_text("connected")
    plain = await cli("connect", ws_server.url, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    await plain.err.wait_text("connected")
    for c in (coloured, plain):
        c.interrupt()
        assert await c.wait() == 0
    assert colour.search(coloured.err.text)
    assert not colour.search(plain.err.text)


async def test_a_closed_stdout_ends_the_command_with_0_and_no_crash(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url)
    await ws_server.wait_connections(1)
    await ws_server.push(Text("first"))
    await c.out.wait_text("first")
    # the reader goes away, as `| head -1` does after its line
    transport: Any = c.proc._transport  # type: ignore[attr-defined]
    transport.get_pipe_transport(1).close()
    await ws_server.push([Text(f"more {i}") for i in range(50)])
    assert await c.wait() == 0
    assert "process_crashed" not in c.err.text and "Traceback" not in c.err.text
    assert ws_server.connections_total == 1  # the client was never restarted


async def test_a_frame_the_terminal_cannot_encode_is_shown_escaped(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url, env={"PYTHONIOENCODING": "ascii"})
    await ws_server.wait_connections(1)
    await ws_server.push(Text("héllo"))
    line = await c.out.wait_text("llo")
    assert line.endswith("h\\xe9llo"), line
    c.interrupt()
    assert await c.wait() == 0
    assert "process_crashed" not in c.err.text and ws_server.connections_total == 1


async def test_no_close_keeps_the_connection_after_the_end_of_stdin(cli, ws_server: Server) -> None:
    c = await cli("connect", ws_server.url, "--no-close")
    c.close_stdin()
    await ws_server.wait_connections(1)
    await ws_server.push(Text("still here"))
    await c.out.wait_text("still here")
    c.interrupt()
    assert await c.wait() == 0
    await ws_server.wait_received(CloseFrame(1000, ""))


async def test_lines_left_unsent_at_the_end_make_the_exit_status_1(cli) -> None:
    async with Server() as srv:
        port = srv.port  # nothing listens there from now on
    c = await cli("connect", f"ws://127.0.0.1:{port}/")
    await c.send_line("never sent")
    c.close_stdin()
    await c.err.wait_text("end of input: waiting for a connection to send 1 line(s)")
    c.interrupt()
    assert await c.wait() == 1
    assert "1 line(s) of input were not sent" in c.err.text
    assert "closing the connection" not in c.err.text  # it never was connected
