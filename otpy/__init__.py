"""otpy: Erlang/OTP's processes, GenServer and supervision, native to asyncio.

The public face of the package; everything listed in ``__all__`` is stable API, and reports
``otpy`` as its module, wherever it is defined inside the package.
"""

from typing import TYPE_CHECKING

from otpy import behaviour
from otpy.child_spec import ChildSpec
from otpy.dynamic_supervisor import DynamicSupervisor
from otpy.errors import (
    AlreadyRegistered,
    AlreadyStarted,
    BadReturn,
    CallingSelf,
    CallTimeout,
    NoProcess,
    NotAProcess,
    OtpyError,
    ReceiveTimeout,
    ServerExited,
    StartError,
    Unhandled,
    WrongThread,
)
from otpy.genserver import FAIR_SLICE, From, GenServer, call, cast, reply, stop
from otpy.process import (
    Down,
    Exit,
    ExitProcess,
    Pid,
    ProcessInfo,
    Ref,
    Shutdown,
    deliver,
    deliver_nowait,
    demonitor,
    exit,
    has_messages,
    is_alive,
    is_normal_exit,
    link,
    mailbox_probe,
    message_queue_len,
    monitor,
    process_info,
    receive,
    register,
    registered,
    self_pid,
    self_sender,
    send,
    spawn,
    spawn_link,
    start_task,
    trap_exits,
    unlink,
    unregister,
    whereis,
)
from otpy.registry import Registry, Via
from otpy.returns import (
    CallResult,
    CastResult,
    ContinueResult,
    Ignore,
    InfoResult,
    InitResult,
    NoReply,
    Ok,
    Reply,
    Stop,
)
from otpy.run import run, run_async
from otpy.supervisor import (
    ChildCounts,
    ChildInfo,
    ChildNotFound,
    ChildRunning,
    ChildStartFailed,
    DuplicateChild,
    MaxChildren,
    Supervisor,
    SupervisorSpec,
)
from otpy.timers import TimerRef, cancel_timer, read_timer, send_after
from otpy.tree import format_tree

__all__ = [
    "FAIR_SLICE",
    "AlreadyRegistered",
    "AlreadyStarted",
    "BadReturn",
    "CallResult",
    "CallTimeout",
    "CallingSelf",
    "CastResult",
    "ChildCounts",
    "ChildInfo",
    "ChildNotFound",
    "ChildRunning",
    "ChildSpec",
    "ChildStartFailed",
    "ContinueResult",
    "Down",
    "DuplicateChild",
    "DynamicSupervisor",
    "Exit",
    "ExitProcess",
    "From",
    "GenServer",
    "Ignore",
    "InfoResult",
    "InitResult",
    "MaxChildren",
    "NoProcess",
    "NoReply",
    "NotAProcess",
    "Ok",
    "OtpyError",
    "Pid",
    "ProcessInfo",
    "ReceiveTimeout",
    "Ref",
    "Registry",
    "Reply",
    "ServerExited",
    "Shutdown",
    "StartError",
    "Stop",
    "Supervisor",
    "SupervisorSpec",
    "TimerRef",
    "Unhandled",
    "Via",
    "WrongThread",
    "behaviour",
    "call",
    "cancel_timer",
    "cast",
    "deliver",
    "deliver_nowait",
    "demonitor",
    "exit",
    "format_tree",
    "has_messages",
    "is_alive",
    "is_normal_exit",
    "link",
    "mailbox_probe",
    "message_queue_len",
    "monitor",
    "process_info",
    "read_timer",
    "receive",
    "register",
    "registered",
    "reply",
    "run",
    "run_async",
    "self_pid",
    "self_sender",
    "send",
    "send_after",
    "spawn",
    "spawn_link",
    "start_task",
    "stop",
    "trap_exits",
    "unlink",
    "unregister",
    "whereis",
]


def _claim_public_names() -> None:
    """Make each public class and function report ``otpy`` as its module (``otpy.NoProcess``,
    not ``otpy.errors.NoProcess``), in reprs, tracebacks and docs. Pickling still works: every
    such name is an attribute of ``otpy``."""
    namespace = globals()
    for name in __all__:
        obj = namespace[name]
        if isinstance(obj, type) or callable(obj):
            obj.__module__ = "otpy"


_claim_public_names()


if TYPE_CHECKING:
    from otpy import observer as observer


def __dir__() -> list[str]:
    return sorted({*globals(), "observer"})


def __getattr__(name: str) -> object:
    # otpy.observer is imported on first use: it brings aiohttp, which the rest of otpy never
    # imports, so `import otpy` stays light
    if name == "observer":
        import importlib

        return importlib.import_module("otpy.observer")
    raise AttributeError(f"module 'otpy' has no attribute {name!r}")
