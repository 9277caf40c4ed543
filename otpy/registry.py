"""Registry: a process that maps keys to processes, and `Via` names that address them.

A :class:`Registry` is a process owning a table of ``key -> (pid, value)`` entries, in one of two
modes: ``"unique"`` (one process per key) or ``"duplicate"`` (any number: a pub/sub topic). A
process registers itself; its entries vanish when it exits, and the table vanishes with the
registry. Reads and writes are plain function calls on the table (no message round trip), like
Elixir's ETS-backed Registry.

``Via(registry, key)`` is a name usable wherever a name is accepted (``start_link(name=...)``,
``call``, ``cast``, ``send``, ``whereis``...), for unique registries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from otpy._runtime import _current, _lookup, _me, _Process, _resolve, _rt
from otpy.errors import AlreadyRegistered, AlreadyStarted
from otpy.genserver import GenServer
from otpy.returns import NoReply, Ok
from otpy.values import Pid

__all__ = [
    "Registry",
    "Via",
    "count",
    "dispatch",
    "keys",
    "lookup",
    "register",
    "unregister",
    "values",
]

Mode = Literal["unique", "duplicate"]


class Registry(GenServer):
    """A key-to-process table owned by a process. Start it with ``start_link("unique")``.

    As in Elixir, a process that registers is linked to the registry (until it unregisters its
    last key): if the registry crashes, the processes named through it exit too, and their
    supervisors restart them once the registry is back, instead of running on with no name.
    The registry traps exits, so a registered process that exits only loses its entries.
    """

    mode: Mode
    trap_exits = True

    def __init__(self) -> None:
        self.mode = "unique"
        self._table: dict[Any, list[tuple[Pid, Any]]] = {}
        self._by_pid: dict[Pid, list[Any]] = {}
        self._proc: _Process | None = None

    @classmethod
    async def start_link(
        cls,
        arg: Any = None,
        *more: Any,
        name: Any = None,
        timeout: float | None = 5.0,
        keys: Mode | None = None,
    ) -> Pid | None:
        """Start a registry: ``Registry.start_link("unique", name="reg")`` (or ``keys=``)."""
        return await super().start_link(_mode(arg, more, keys), name=name, timeout=timeout)

    @classmethod
    async def start(
        cls,
        arg: Any = None,
        *more: Any,
        name: Any = None,
        timeout: float | None = 5.0,
        keys: Mode | None = None,
    ) -> Pid | None:
        """Like :meth:`start_link`, without a link to the caller."""
        return await super().start(_mode(arg, more, keys), name=name, timeout=timeout)

    async def init(self, arg: Any) -> Ok:
        if arg not in ("unique", "duplicate"):
            raise ValueError(f"Registry keys must be 'unique' or 'duplicate', not {arg!r}")
        self.mode = arg
        self._proc = _current()
        return Ok(None)

    async def handle_info(self, msg: Any, state: Any) -> NoReply:
        # Exit messages from registered processes: their entries went with them (see _on_exit).
        return NoReply(state)

    # The table operations below run in the caller; the registry process only owns the table.

    def _register(self, proc: _Process, key: Any, value: Any) -> None:
        entries = self._table.get(key)
        if self.mode == "unique" and entries:
            raise AlreadyRegistered(key, entries[0][0])
        self._table.setdefault(key, []).append((proc.pid, value))
        keys_of = self._by_pid.get(proc.pid)
        if keys_of is None:
            # its first key: follow its exit, and link it to the registry (see the class doc)
            keys_of = self._by_pid[proc.pid] = []
            proc.add_exit_callback(self._on_exit)
            me = self._proc
            if me is not None:
                proc.link_with(me)
        keys_of.append(key)

    def _drop(self, pid: Pid, key: Any) -> None:
        entries = self._table.get(key)
        if entries:
            kept = [e for e in entries if e[0] != pid]
            if kept:
                self._table[key] = kept
            else:
                del self._table[key]

    def _unregister(self, proc: _Process, key: Any) -> None:
        """Remove `proc`'s entries under `key`; after its last key, forget it altogether."""
        self._drop(proc.pid, key)
        keys_of = self._by_pid.get(proc.pid)
        if keys_of is None:
            return
        keys_of[:] = [k for k in keys_of if k != key]
        if not keys_of:
            del self._by_pid[proc.pid]
            proc.remove_exit_callback(self._on_exit)
            me = self._proc
            if me is not None:
                proc.unlink_from(me)

    def _on_exit(self, pid: Pid, _reason: Any) -> None:
        for key in set(self._by_pid.pop(pid, ())):
            self._drop(pid, key)

    def _lookup(self, key: Any) -> list[tuple[Pid, Any]]:
        rt = _rt()
        return [e for e in self._table.get(key, ()) if e[0].id in rt.procs]


def _mode(arg: Any, more: tuple[Any, ...], keys: Mode | None) -> Any:
    if more:
        raise TypeError(f"a Registry takes one start argument (the keys mode), not {more!r}")
    return keys or arg or "unique"


def _registry(registry: Any) -> Registry:
    proc = _lookup(registry, "use as a registry")
    reg = proc.behaviour
    if not isinstance(reg, Registry):
        raise TypeError(f"{registry!r} is not a Registry process")
    return reg


def register(registry: Any, key: Any, value: Any = None) -> None:
    """Register the calling process under `key` with `value`, until it exits or unregisters.

    Raises :class:`~otpy.AlreadyRegistered` (with ``.pid``) if the registry is unique and the key
    is taken, and :class:`~otpy.NoProcess` if the registry is not running.
    """
    _registry(registry)._register(_me(), key, value)


def unregister(registry: Any, key: Any) -> None:
    """Remove the calling process's entries under `key`. Unknown keys are ignored."""
    _registry(registry)._unregister(_me(), key)


def lookup(registry: Any, key: Any) -> list[tuple[Pid, Any]]:
    """The ``(pid, value)`` entries under `key`, oldest first (at most one if unique)."""
    return _registry(registry)._lookup(key)


def dispatch(registry: Any, key: Any, fn: Callable[[list[tuple[Pid, Any]]], Any]) -> bool:
    """Call ``fn(entries)`` with the entries under `key` if there are any. True if it was called."""
    entries = _registry(registry)._lookup(key)
    if not entries:
        return False
    fn(entries)
    return True


def keys(registry: Any, pid: Pid) -> list[Any]:
    """The keys `pid` is registered under in `registry`, in registration order."""
    return list(_registry(registry)._by_pid.get(pid, ()))


def values(registry: Any, key: Any, pid: Pid) -> list[Any]:
    """The values `pid` registered under `key`."""
    return [v for p, v in _registry(registry)._lookup(key) if p == pid]


def count(registry: Any) -> int:
    """The number of entries in `registry`."""
    return sum(len(v) for v in _registry(registry)._table.values())


@dataclass(frozen=True, slots=True)
class Via:
    """A name that resolves through a unique Registry: ``Via("reg", ("room", 42))``."""

    registry: Any
    key: Any

    def whereis(self) -> Pid | None:
        """The pid registered under this name, or None.

        Raises TypeError if the registry has duplicate keys: a Via name must name one process.
        """
        reg = _resolve(self.registry)
        if reg is None or not isinstance(reg.behaviour, Registry):
            return None
        self._check_unique(reg.behaviour)
        entries = reg.behaviour._lookup(self.key)
        return entries[0][0] if entries else None

    def _check_unique(self, reg: Registry) -> None:
        if reg.mode != "unique":
            raise TypeError(
                f"{self!r} names a process through {self.registry!r}, whose keys are duplicate; "
                "Via names need a Registry started with keys='unique' (to reach every process "
                "under a duplicate key, use otpy.registry.dispatch)"
            )

    def register(self, pid: Pid) -> None:
        """Register `pid` under this name (used by ``start_link(name=Via(...))``)."""
        reg = _registry(self.registry)
        self._check_unique(reg)
        proc = _lookup(pid, "register")
        try:
            reg._register(proc, self.key, None)
        except AlreadyRegistered as e:
            raise AlreadyStarted(self, e.pid) from None

