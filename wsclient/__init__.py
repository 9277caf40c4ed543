"""wsclient: Elixir's MintWebsocketClient behaviour on otpy and aiohttp.

A websocket client is one restartable process: it connects, reconnects with backoff, keeps a
heartbeat, can be registered by name and is restarted by a supervisor. Subclass
:class:`WebsocketClient`, start it with ``await WS.start_link(url)``, or put
``WS.child_spec(url)`` in a supervision tree. Everything in ``__all__`` is stable API.
"""

from wsclient.backoff import Backoff
from wsclient.client import (
    WebsocketClient,
    call,
    cast,
    child_spec,
    close,
    connect,
    send_frame,
    start,
    start_link,
    stats,
)
from wsclient.connection import ConnectStatus
from wsclient.errors import InvalidFrame, InvalidOption, InvalidURL, NotConnected, WsClientError
from wsclient.frames import Binary, CloseFrame, Ping, Pong, Text
from wsclient.options import Options
from wsclient.reasons import (
    ConnectFailed,
    Disconnected,
    GaveUp,
    HandshakeRejected,
    HeartbeatTimeout,
    LocalClosed,
    ProtocolError,
    RemoteClosed,
    TransportError,
)
from wsclient.results import Close, Ok, Reconnect, Reply, Stop
from wsclient.stats import Stats

__all__ = [
    "Backoff",
    "Binary",
    "Close",
    "CloseFrame",
    "ConnectFailed",
    "ConnectStatus",
    "Disconnected",
    "GaveUp",
    "HandshakeRejected",
    "HeartbeatTimeout",
    "InvalidFrame",
    "InvalidOption",
    "InvalidURL",
    "LocalClosed",
    "NotConnected",
    "Ok",
    "Options",
    "Ping",
    "Pong",
    "ProtocolError",
    "Reconnect",
    "RemoteClosed",
    "Reply",
    "Stats",
    "Stop",
    "Text",
    "TransportError",
    "WebsocketClient",
    "WsClientError",
    "call",
    "cast",
    "child_spec",
    "close",
    "connect",
    "send_frame",
    "start",
    "start_link",
    "stats",
]


def _claim_public_names() -> None:
    namespace = globals()
    for name in __all__:
        obj = namespace[name]
        if isinstance(obj, type) or (callable(obj) and getattr(obj, "__module__", "") != "otpy"):
            obj.__module__ = "wsclient"


_claim_public_names()
