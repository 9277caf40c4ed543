"""SupervisorSpec: a supervisor's children and flags, checked where they are given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from otpy._checks import check_count, check_duration
from otpy._supervision import format_id
from otpy.child_spec import ChildSpec, normalize_child

__all__ = ["Strategy", "SupervisorSpec", "check_children"]

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    """What a Supervisor subclass's ``init`` returns: its children and its flags."""

    children: Sequence[Any]
    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    max_seconds: float = 5.0
    # DynamicSupervisor only:
    max_children: int | None = None
    extra_arguments: tuple[Any, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, not {self.strategy!r}")
        check_count(self.max_restarts, "max_restarts")
        if check_duration(self.max_seconds, "max_seconds") <= 0:
            raise ValueError(f"max_seconds must be a number > 0, not {self.max_seconds!r}")
        check_count(self.max_children, "max_children", allow_none=True)
        if not isinstance(self.extra_arguments, tuple):
            raise TypeError(f"extra_arguments must be a tuple, not {self.extra_arguments!r}")


def check_children(children: Sequence[Any], label: str) -> list[ChildSpec]:
    """The children as ChildSpecs; TypeError for a bad child, ValueError for a repeated id."""
    specs = [normalize_child(c) for c in children]
    seen: set[Any] = set()
    for s in specs:
        if s.id in seen:
            raise ValueError(
                f"duplicate child id {format_id(s.id)} in {label}; give each child a unique id"
            )
        seen.add(s.id)
    return specs
