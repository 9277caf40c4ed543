"""Timers owned by a process: ``send_after`` and ``cancel_timer``, as Erlang's.

``send_after(dest, msg, delay)`` puts `msg` in the mailbox of `dest` after `delay` seconds and
returns a :class:`TimerRef`. ``cancel_timer(ref)`` stops it and returns the seconds that were
left, or None if it had already fired (or been cancelled). Unlike Erlang's, cancelling a timer
that has fired also takes its message out of the destination's mailbox if it is still there,
so code that cancels a timer never sees that timer's message afterwards: there are no stale
timer messages to guard against.

A timer belongs to the process that set it: when that process exits, its timers are cancelled.
A timer costs one loop timer handle and no task, so ten thousand processes with a heartbeat
each are cheap. `dest` is looked up when the timer fires: a name nobody holds then, or a
process that has exited, drops the message, as in Erlang.
"""

from __future__ import annotations

import weakref
from typing import Any

from otpy._checks import check_duration
from otpy._runtime import _Envelope, _me, _Process, _resolve, _rt
from otpy.values import Pid

__all__ = ["TimerRef", "cancel_timer", "read_timer", "send_after"]


class TimerRef:
    """A timer set by :func:`send_after`; pass it to :func:`cancel_timer`.

    While its message waits in a mailbox, an envelope only the timer knows stands in for it
    there (the receiver sees only the message), so that cancelling finds exactly that one.
    """

    __slots__ = ("__weakref__", "_dest", "_envelope", "_handle", "_into", "_msg", "_owner")

    def __init__(self, owner: _Process, dest: Any, msg: Any) -> None:
        self._owner: _Process | None = owner
        self._dest = dest
        self._msg = msg
        self._handle: Any = None
        self._into: weakref.ref[_Process] | None = None
        self._envelope: _Envelope | None = None

    def __repr__(self) -> str:
        state = "pending" if self._handle is not None else "done"
        return f"<TimerRef {state} to {self._dest!r}>"

    def _fire(self) -> None:
        self._handle = None
        owner = self._owner
        self._owner = None
        if owner is not None:
            owner.discard_timer(self)
        try:
            proc = _resolve(self._dest)
        except Exception:  # a Via whose registry is gone: dropped, as a dead pid
            proc = None
        msg = self._msg
        self._msg = None
        if proc is None:
            return
        self._into = weakref.ref(proc)
        self._envelope = envelope = _Envelope(msg)
        proc.put_envelope(envelope)

    def _cancel_silently(self) -> None:
        """Its owner exited: stop it (a message already queued stays; it was sent)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._msg = None
        self._owner = None


def send_after(dest: Any, msg: Any, delay: float) -> TimerRef:
    """Send `msg` to `dest` (a pid, name or Via) after `delay` seconds; return the timer.

    The timer belongs to the calling process and is cancelled when it exits. Raises TypeError or
    ValueError at once for a delay that is not a finite number of seconds >= 0.
    """
    seconds = check_duration(delay, "send_after delay")
    if not (type(dest) is Pid or isinstance(dest, str) or hasattr(dest, "whereis")):
        raise TypeError(
            f"{dest!r} is not a process address: use a Pid, a registered name (str) or a Via"
        )
    owner = _me()
    ref = TimerRef(owner, dest, msg)
    ref._handle = owner.rt.loop.call_later(seconds, ref._fire)
    owner.add_timer(ref)
    return ref


def cancel_timer(ref: TimerRef) -> float | None:
    """Cancel `ref`; return the seconds it had left, or None if it had fired or was cancelled.

    A fired timer's message is taken out of the destination's mailbox if it is still queued, so
    after ``cancel_timer`` returns, that timer's message will never be received.
    """
    if not isinstance(ref, TimerRef):
        raise TypeError(f"cancel_timer takes a TimerRef from send_after, not {ref!r}")
    handle = ref._handle
    if handle is not None:
        left: float = max(0.0, handle.when() - _rt().loop.time())
        handle.cancel()
        ref._handle = None
        ref._msg = None
        owner = ref._owner
        ref._owner = None
        if owner is not None:
            owner.discard_timer(ref)
        return left
    into, envelope = ref._into, ref._envelope
    if into is not None and envelope is not None and not envelope.taken:
        proc = into()
        if proc is not None:
            proc.remove_identical(envelope)
    ref._into = None
    ref._envelope = None
    return None


def read_timer(ref: TimerRef) -> float | None:
    """The seconds left before `ref` fires, or None if it has fired or was cancelled."""
    if not isinstance(ref, TimerRef):
        raise TypeError(f"read_timer takes a TimerRef from send_after, not {ref!r}")
    handle = ref._handle
    if handle is None:
        return None
    return max(0.0, float(handle.when() - _rt().loop.time()))
