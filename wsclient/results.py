"""What the client's callbacks return: one small frozen dataclass per Elixir return tuple.

===============================  ===================================================================
result                           what the client does
===============================  ===================================================================
``Ok(state)``                    carry on with `state`
``Reply(frames, state)``         send a frame (or a list of frames, in order), then carry on
``Close(state, code, reason)``   send a close frame, wait at most ``close_timeout`` for the peer's,
                                 then drop the socket; ``handle_disconnect`` gets ``LocalClosed``
``Close(state, abort=True)``     drop the socket now, with no close frame (``{:close, state}``)
``Reconnect(state, after=s)``    drop this connection and connect again after `s` seconds (None:
                                 the backoff policy picks the delay)
``Stop(reason, state)``          end the process with `reason`; ``terminate`` runs first
===============================  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from otpy.returns import fast_init

__all__ = ["Close", "ConnectResult", "DisconnectResult", "FrameResult", "Ok", "Reconnect",
           "Reply", "Stop"]  # fmt: skip


@fast_init
@dataclass(frozen=True, slots=True)
class Ok:
    """``{:ok, state}``: carry on."""

    state: Any


@fast_init
@dataclass(frozen=True, slots=True)
class Reply:
    """``{:reply, frame, state}``: send `frames` (one frame or a list of them), carry on."""

    frames: Any
    state: Any


@fast_init
@dataclass(frozen=True, slots=True)
class Close:
    """``{:close, {code, reason}, state}``: close politely; with ``abort=True``, ``{:close,
    state}``: drop the socket at once."""

    state: Any
    code: int = 1000
    reason: str = ""
    abort: bool = field(default=False, kw_only=True)


@fast_init
@dataclass(frozen=True, slots=True)
class Reconnect:
    """``{:reconnect, timeout, state}`` / ``{:reconnect, state}``: connect again after `after`
    seconds, or when the backoff policy says (None)."""

    state: Any
    after: float | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Stop:
    """``{:stop, reason, state}``: end the process with `reason` (``terminate`` runs)."""

    reason: Any
    state: Any = None


#: What ``handle_connect`` may return.
ConnectResult = Ok | Reply | Close | Stop
#: What ``handle_disconnect`` may return.
DisconnectResult = Ok | Reconnect | Stop
#: What ``handle_frame``, ``handle_cast``, ``handle_info`` and ``handle_call`` may return.
FrameResult = Ok | Reply | Close | Reconnect | Stop
