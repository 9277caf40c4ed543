"""Render a live supervision tree as text, for demos, logs and debugging.

::

    print(await otpy.format_tree(sup))

    App <0.12.0> one_for_one, restarts 1/3 in 5.0s
    ├── Counter <0.13.0> running, restarts 0
    └── Workers <0.14.0> [workers] supervisor, restarts 1
        └── Worker <0.20.0> running, restarts 0
"""

from __future__ import annotations

from typing import Any

from otpy._supervision import format_id
from otpy.errors import NoProcess, ServerExited
from otpy.process import process_info
from otpy.supervisor import supervisor_flags, which_children

__all__ = ["format_tree"]


async def format_tree(sup: Any) -> str:
    """A text picture of the supervisor `sup` and everything under it."""
    flags = await supervisor_flags(sup)
    head = (
        f"{flags['label']} {_pid_and_names(sup)} {flags['strategy']}"
        f"{' (dynamic)' if flags['dynamic'] else ''}, restarts "
        f"{flags['restarts_in_window']}/{flags['max_restarts']} in {flags['max_seconds']}s"
    )
    lines = [head]
    await _children(sup, "", lines)
    return "\n".join(lines)


def _pid_and_names(pid: Any) -> str:
    info = process_info(pid)
    if info is None:
        return "(not alive)"
    names = f" [{', '.join(info.names)}]" if info.names else ""
    return f"{info.pid!r}{names}"


async def _children(sup: Any, indent: str, lines: list[str]) -> None:
    kids = await which_children(sup)
    for i, c in enumerate(kids):
        last = i == len(kids) - 1
        branch = "└── " if last else "├── "
        where = _pid_and_names(c.pid) if c.pid is not None else "-"
        kind = " supervisor," if c.type == "supervisor" else ""
        lines.append(
            f"{indent}{branch}{format_id(c.id)} {where}{kind} {c.status}, restarts {c.restarts}"
        )
        if c.type == "supervisor" and c.pid is not None:
            try:
                await _children(c.pid, indent + ("    " if last else "│   "), lines)
            except (NoProcess, ServerExited):
                lines.append(f"{indent}    (exited while being read)")
