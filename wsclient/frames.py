"""Websocket frames, as values: ``Text``, ``Binary``, ``Ping``, ``Pong`` and ``CloseFrame``.

They are what ``handle_frame`` receives and what ``send_frame`` and ``Reply`` send. A fragmented
message arrives whole, as one ``Text`` or ``Binary``. :func:`check_outgoing` is the check every
frame passes before it is sent: a wrong type, a control frame over 125 bytes or a close code
that may not be sent raises :class:`~wsclient.InvalidFrame` in the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otpy.returns import fast_init
from wsclient.errors import InvalidFrame

__all__ = [
    "Binary",
    "CloseFrame",
    "Frame",
    "Ping",
    "Pong",
    "Text",
    "check_close_code",
    "check_outgoing",
    "close_code_error",
]


@fast_init
@dataclass(frozen=True, slots=True)
class Text:
    """A text message (``{:text, s}``)."""

    data: str


@fast_init
@dataclass(frozen=True, slots=True)
class Binary:
    """A binary message (``{:binary, b}``)."""

    data: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class Ping:
    """A ping (``:ping``). A received ping is answered with a Pong at once, then delivered."""

    data: bytes = b""


@fast_init
@dataclass(frozen=True, slots=True)
class Pong:
    """A pong (``{:pong, b}``)."""

    data: bytes = b""


@fast_init
@dataclass(frozen=True, slots=True)
class CloseFrame:
    """A close frame (``{:close, code, reason}``). Received, it is answered with the same code
    (RFC 6455 5.5.1), then delivered to ``handle_frame``, then ``handle_disconnect`` runs."""

    code: int = 1000
    reason: str = ""


Frame = Text | Binary | Ping | Pong | CloseFrame

_CONTROL_MAX = 125  # RFC 6455 5.5: a control frame's payload is at most 125 bytes


def close_code_error(code: int) -> str | None:
    """Why `code` may not appear in a close frame on the wire (RFC 6455 7.4), or None if it may.

    1005, 1006 and 1015 are for reporting only; codes under 1000 are unused; 1016-2999 are
    reserved for the protocol and unassigned (1012-1014 were assigned by IANA later); 3000-4999
    are for libraries and applications; nothing above 4999 exists.
    """
    if type(code) is not int:
        return f"a close code is an int, not {code!r}"
    if code in (1005, 1006, 1015):
        return f"close code {code} is reserved for reporting and never sent on the wire"
    if code < 1000 or code > 4999:
        return f"close code {code} is outside 1000-4999"
    if 1016 <= code <= 2999 or code == 1004:
        return f"close code {code} is reserved by RFC 6455 and not assigned"
    return None


def check_close_code(code: Any) -> int:
    """`code` if a close frame may carry it, else raise InvalidFrame saying why."""
    why = close_code_error(code)
    if why is not None:
        raise InvalidFrame(f"{why}; use 1000 (normal) or a code of 3000-4999 for your own")
    return int(code)


def _check_utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidFrame(
            f"{what} cannot be sent as UTF-8 ({e.reason} at {e.start}: a lone surrogate?)"
        ) from None


def check_outgoing(frame: Any) -> Any:
    """Check a frame before it is sent; return it, or raise InvalidFrame saying what is wrong."""
    t = type(frame)
    if t is Text:
        if type(frame.data) is not str:
            raise InvalidFrame(f"Text.data must be a str, not {type(frame.data).__name__}")
        if not frame.data.isascii():
            _check_utf8(frame.data, "Text.data")
        return frame
    if t is Binary:
        if not isinstance(frame.data, bytes | bytearray | memoryview):
            raise InvalidFrame(f"Binary.data must be bytes, not {type(frame.data).__name__}")
        return frame
    if t is Ping or t is Pong:
        if not isinstance(frame.data, bytes | bytearray):
            raise InvalidFrame(f"{t.__name__}.data must be bytes, not {type(frame.data).__name__}")
        if len(frame.data) > _CONTROL_MAX:
            raise InvalidFrame(
                f"a {t.__name__} carries at most {_CONTROL_MAX} bytes (RFC 6455 5.5), "
                f"not {len(frame.data)}"
            )
        return frame
    if t is CloseFrame:
        check_close_code(frame.code)
        if type(frame.reason) is not str:
            raise InvalidFrame(f"CloseFrame.reason must be a str, not {frame.reason!r}")
        if len(_check_utf8(frame.reason, "CloseFrame.reason")) > _CONTROL_MAX - 2:
            raise InvalidFrame(
                f"a close reason is at most {_CONTROL_MAX - 2} bytes of UTF-8 (RFC 6455 5.5)"
            )
        return frame
    raise InvalidFrame(
        f"{frame!r} is not a frame: send Text(str), Binary(bytes), Ping(bytes), Pong(bytes) "
        "or CloseFrame(code, reason)"
    )
