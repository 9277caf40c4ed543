"""The Reporter of docs/howto/testing-your-client.md, run with pytest (asyncio auto mode)."""

import otpy
import wsclient
from wsclient import Ok, Text


# --8<-- [start:reporter]
class Reporter(wsclient.WebsocketClient):
    async def init(self, test_pid):
        return Ok(test_pid)

    async def handle_frame(self, frame, test_pid):
        otpy.send(test_pid, ("frame", frame))
        return Ok(test_pid)


async def test_a_frame_reaches_handle_frame(ws_server):
    pid = await Reporter.start(ws_server.url, otpy.self_pid())
    await ws_server.wait_connections(1)
    await ws_server.push(Text("hi"))
    msg = await otpy.receive(match=lambda m: type(m) is tuple and m[0] == "frame", timeout=2)
    assert msg == ("frame", Text("hi"))
    await otpy.stop(pid)
# --8<-- [end:reporter]
