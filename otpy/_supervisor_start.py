"""Starting a supervisor process, and the child spec of a supervisor class. Private: shared by
otpy.supervisor and otpy.dynamic_supervisor, which import it (and not each other)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from otpy import behaviour
from otpy._supervision import format_id
from otpy._supervisor_server import SupervisorServer
from otpy.child_spec import ChildSpec
from otpy.errors import StartError
from otpy.supervisor_spec import SupervisorSpec, check_children
from otpy.values import Pid

__all__ = ["start_supervisor", "supervisor_child_spec"]


async def start_supervisor(
    cls: Any,
    base: type,
    arg: Any,
    flags: SupervisorSpec,
    name: Any,
    timeout: float | None,
    link: bool,
) -> Pid | None:
    """Start the supervisor process for `cls` (Supervisor, DynamicSupervisor or a subclass).

    On `base` itself, `arg` is the list of children (none for a DynamicSupervisor) and `flags`
    are used as given; on a subclass, `arg` goes to its ``init``.
    """
    dynamic: bool = base.dynamic  # type: ignore[attr-defined]
    direct = None
    if cls is base:
        children = arg if arg is not None else []
        if dynamic and children:
            raise TypeError("a DynamicSupervisor starts with no children; use start_child")
        if not isinstance(children, list | tuple):
            raise TypeError(f"Supervisor.start_link takes a list of children, not {children!r}")
        direct = replace(flags, children=list(children))
        # a bad or repeated child is the caller's mistake: raise it here, not as a StartError
        check_children(direct.children, format_id(name) if name is not None else base.__name__)
    start = behaviour.start_link if link else behaviour.start
    try:
        return await start(
            SupervisorServer, cls, (arg, direct, dynamic), name=name, timeout=timeout
        )
    except StartError as e:
        raise StartError(e.reason, cls.__qualname__) from None


def supervisor_child_spec(
    cls: Any, arg: Any, overrides: dict[str, Any], flag_names: tuple[str, ...]
) -> ChildSpec:
    """The child spec of a supervisor class: start_link flags split from ChildSpec fields."""
    valid = ("id", "restart", "shutdown", "type", *flag_names)
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise TypeError(
            f"{cls.__qualname__}.child_spec got unknown option(s) {', '.join(unknown)}; "
            f"valid ones are: {', '.join(valid)}"
        )
    flags = {k: overrides.pop(k) for k in flag_names if k in overrides}

    async def start(a: Any) -> Pid | None:
        pid: Pid | None = await cls.start_link(a, **flags)
        return pid

    fields: dict[str, Any] = {
        "id": cls,
        "start": (start, (arg,)),
        "type": "supervisor",
        "restart": cls.restart,
    }
    fields.update(overrides)
    return ChildSpec(**fields)
