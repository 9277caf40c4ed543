# echo_client.py
import asyncio
from typing import Any

import otpy
import wsclient
from wsclient import Ok, Reply, Text
from wsclient.testing import Server


class Echo(wsclient.WebsocketClient):
    """Says hello on every connect and reports each frame to the process given as its arg."""

    async def init(self, report_to: otpy.Pid) -> Ok:
        return Ok(report_to)

    async def handle_connect(self, status: wsclient.ConnectStatus, report_to: otpy.Pid) -> Reply:
        print("connected:", status.status, status.extensions)
        return Reply(Text("hello"), report_to)

    async def handle_frame(self, frame: Any, report_to: otpy.Pid) -> Ok:
        otpy.send(report_to, frame)
        return Ok(report_to)

    async def handle_disconnect(self, reason: wsclient.Disconnected, report_to: otpy.Pid) -> Any:
        print("disconnected:", reason.kind, "attempt", reason.attempt)
        return await super().handle_disconnect(reason, report_to)


async def main() -> None:
    async with Server(echo=True) as server:  # a local server that echoes text and binary
        pid = await Echo.start_link(server.url, otpy.self_pid())
        print(await otpy.receive(timeout=5))  # Text(data='hello'), echoed back
        await wsclient.send_frame(pid, Text("again"))
        print(await otpy.receive(timeout=5))  # Text(data='again')
        server.drop()  # cut the connection: the client reconnects and says hello again
        print(await otpy.receive(timeout=5))  # Text(data='hello')
        await wsclient.close(pid)  # a polite close; the default handle_disconnect stays down
        print((await wsclient.stats(pid)).state)  # down
        await otpy.stop(pid)


if __name__ == "__main__":
    asyncio.run(main())
