"""The values GenServer callbacks return: one small frozen dataclass per Elixir return tuple."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CallResult",
    "CastResult",
    "ContinueResult",
    "Ignore",
    "InfoResult",
    "InitResult",
    "NoReply",
    "Ok",
    "Reply",
    "Stop",
    "fast_init",
]

class _NotSet:
    """Marks an optional field left unset (``continue_``, ``reply``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_SET"


_NO_CONTINUE: Any = _NotSet()


def fast_init(cls: type) -> type:
    """Give a frozen slots dataclass an ``__init__`` that sets its slots directly.

    Public for packages built on otpy whose values sit on hot paths (wsclient's frames and
    results): apply it above ``@dataclass(frozen=True, slots=True)``.

    The generated frozen ``__init__`` goes through ``object.__setattr__`` once per field, which
    made building a return value cost more than the rest of a cast. These classes sit on every
    callback's hot path, so they set their slot descriptors instead. Behaviour is unchanged:
    the same signature, and the instances stay frozen, hashable and comparable.
    """
    fields = dataclasses.fields(cls)
    namespace: dict[str, Any] = {}
    pos: list[str] = []
    kws: list[str] = []
    for f in fields:
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        param = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            param = f"{f.name}=_default_{f.name}"
        (kws if f.kw_only else pos).append(param)
    sig = ", ".join(["self", *pos, *(["*", *kws] if kws else [])])
    body = "".join(f"\n    _set_{f.name}(self, {f.name})" for f in fields) or "\n    pass"
    exec(f"def __init__({sig}):{body}\n", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls


@fast_init
@dataclass(frozen=True, slots=True)
class Ok:
    """``{:ok, state}`` from ``init``; ``continue_`` runs ``handle_continue`` before any message;
    ``timeout`` (seconds) delivers ``"timeout"`` to ``handle_info`` if no message comes first."""

    state: Any
    continue_: Any = field(default=_NO_CONTINUE, kw_only=True)
    timeout: float | None = field(default=None, kw_only=True)


@fast_init
@dataclass(frozen=True, slots=True)
class Reply:
    """``{:reply, value, state}`` from ``handle_call``: answer the caller with `value`.

    ``continue_`` and ``timeout`` as for :class:`NoReply`."""

    value: Any
    state: Any
    continue_: Any = field(default=_NO_CONTINUE, kw_only=True)
    timeout: float | None = field(default=None, kw_only=True)


@fast_init
@dataclass(frozen=True, slots=True)
class NoReply:
    """``{:noreply, state}``: carry on; from ``handle_call`` the reply comes later via ``reply``.

    ``continue_=x`` runs ``handle_continue(x, state)`` before the next message. ``timeout=s``
    (Elixir's ``{:noreply, state, timeout}``) delivers the message ``"timeout"`` to
    ``handle_info`` if no other message arrives within `s` seconds. Give one or the other."""

    state: Any
    continue_: Any = field(default=_NO_CONTINUE, kw_only=True)
    timeout: float | None = field(default=None, kw_only=True)


@fast_init
@dataclass(frozen=True, slots=True)
class Stop:
    """``{:stop, reason, state}``: run ``terminate(reason, state)`` and exit with `reason`.

    From ``init`` only `reason` is used. From ``handle_call``, `reply` (if given) is sent to the
    caller before terminating.
    """

    reason: Any
    state: Any = None
    reply: Any = field(default=_NO_CONTINUE, kw_only=True)


@dataclass(frozen=True, slots=True)
class Ignore:
    """``:ignore`` from ``init``: the process exits normally and ``start_link`` returns None."""


#: What ``init`` may return.
InitResult = Ok | Ignore | Stop
#: What ``handle_call`` may return.
CallResult = Reply | NoReply | Stop
#: What ``handle_cast`` may return.
CastResult = NoReply | Stop
#: What ``handle_info`` may return.
InfoResult = NoReply | Stop
#: What ``handle_continue`` may return.
ContinueResult = NoReply | Stop
