"""ChildSpec: how a supervisor starts, restarts and stops one child."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = ["ChildSpec", "Restart", "ShutdownPolicy", "normalize_child"]

Restart = Literal["permanent", "transient", "temporary"]
ShutdownPolicy = float | Literal["brutal_kill", "infinity"]
ChildType = Literal["worker", "supervisor"]
StartFn = Callable[..., Awaitable[Any]]

_RESTARTS = ("permanent", "transient", "temporary")
_TYPES = ("worker", "supervisor")


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to start one child, and what to do when it exits.

    ``start`` is ``(async_fn, args)``: the supervisor awaits ``async_fn(*args)``, which must start
    the child linked to the caller and return its pid (or None to be ignored). ``restart`` says
    when it is restarted (see the table in ``docs/topics/supervision.md``). ``shutdown`` is how
    many seconds it gets to stop after exit(shutdown) before it is killed, or ``"brutal_kill"``
    (killed at once) or ``"infinity"`` (waited for; the default for supervisors). The default of
    None means 5 seconds for workers and ``"infinity"`` for supervisors.
    """

    id: Any
    start: tuple[StartFn, tuple[Any, ...]] | StartFn
    restart: Restart = "permanent"
    shutdown: ShutdownPolicy | None = None
    type: ChildType = "worker"

    def __post_init__(self) -> None:
        try:
            hash(self.id)
        except TypeError:
            raise TypeError(
                f"child id {self.id!r} is not hashable; use a str, a tuple or a class as the id"
            ) from None
        start = self.start
        if callable(start):
            object.__setattr__(self, "start", (start, ()))
            start = self.start
        if (
            not isinstance(start, tuple)
            or len(start) != 2
            or not callable(start[0])
            or not isinstance(start[1], tuple)
        ):
            raise TypeError(
                f"child {self.id!r}: start must be (async_fn, args_tuple) or an async function, "
                f"not {start!r}"
            )
        if self.restart not in _RESTARTS:
            raise ValueError(
                f"child {self.id!r}: restart must be one of {_RESTARTS}, not {self.restart!r}"
            )
        if self.type not in _TYPES:
            raise ValueError(f"child {self.id!r}: type must be one of {_TYPES}, not {self.type!r}")
        sd = self.shutdown
        if sd is None:
            object.__setattr__(self, "shutdown", "infinity" if self.type == "supervisor" else 5.0)
        elif isinstance(sd, bool) or not (
            sd in ("brutal_kill", "infinity")
            or (isinstance(sd, int | float) and 0 <= sd < float("inf"))
        ):
            raise ValueError(
                f"child {self.id!r}: shutdown must be finite seconds >= 0, 'brutal_kill' or "
                f"'infinity', "
                f"not {sd!r}"
            )

    @property
    def start_call(self) -> tuple[StartFn, tuple[Any, ...]]:
        """``start`` as ``(async_fn, args)`` (a bare function given as ``start`` has no args)."""
        start = self.start
        assert isinstance(start, tuple)  # __post_init__ turned a bare function into a tuple
        return start

    def with_(self, **changes: Any) -> ChildSpec:
        """A copy with some fields changed."""
        return replace(self, **changes)


def normalize_child(child: Any) -> ChildSpec:
    """Turn a ChildSpec, a class (``cls.child_spec(None)``) or ``(cls, arg)`` into a ChildSpec."""
    if isinstance(child, ChildSpec):
        return child
    if isinstance(child, type) and hasattr(child, "child_spec"):
        spec = child.child_spec(None)
    elif (
        isinstance(child, tuple)
        and len(child) == 2
        and isinstance(child[0], type)
        and hasattr(child[0], "child_spec")
    ):
        spec = child[0].child_spec(child[1])
    else:
        raise TypeError(
            f"{child!r} is not a child: give a ChildSpec, a class with child_spec, or (cls, arg)"
        )
    if not isinstance(spec, ChildSpec):
        raise TypeError(f"{child!r}.child_spec returned {spec!r}, not a ChildSpec")
    return spec
