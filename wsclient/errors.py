"""The errors wsclient raises, all subclasses of :class:`WsClientError`."""

from __future__ import annotations

__all__ = ["InvalidFrame", "InvalidOption", "InvalidURL", "NotConnected", "WsClientError"]


class WsClientError(Exception):
    """Base class of every error wsclient raises on purpose."""


class NotConnected(WsClientError):
    """The client has no open connection to send on. `.state` is where it is instead:
    ``"connecting"``, ``"closing"`` or ``"disconnected"`` (down, or waiting to reconnect)."""

    def __init__(self, state: str, what: str = "send a frame") -> None:
        self.state = state
        hint = {
            "connecting": "wait for handle_connect (or start with connect='sync')",
            "closing": "the connection is being closed; send after the next handle_connect",
            "disconnected": "the client is down or waiting to reconnect; see handle_disconnect",
        }.get(state, "")
        super().__init__(f"cannot {what}: the client is {state}; {hint}")


class InvalidFrame(WsClientError, ValueError):
    """A frame that cannot be sent: a wrong type, a control frame over 125 bytes, a bad close
    code. Raised in the caller; the client goes on."""


class InvalidOption(WsClientError, ValueError):
    """An option given to start_link (or child_spec) is unknown or has a bad value."""


class InvalidURL(WsClientError, ValueError):
    """The URL is not a ws:// or wss:// URL with a host."""
