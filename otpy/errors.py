"""Typed errors raised by otpy, each saying what went wrong and what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otpy.values import Pid

__all__ = [
    "AlreadyRegistered",
    "AlreadyStarted",
    "BadReturn",
    "CallTimeout",
    "CallingSelf",
    "NoProcess",
    "NotAProcess",
    "OtpyError",
    "ReceiveTimeout",
    "ServerExited",
    "StartError",
    "Unhandled",
    "WrongThread",
]


class OtpyError(Exception):
    """Base class of every error otpy raises on purpose."""


class NoProcess(OtpyError, LookupError):
    """The pid is dead, or no process is registered under the name."""

    def __init__(self, dest: object, action: str = "reach", other_loop: bool = False) -> None:
        self.dest = dest
        self.other_loop = other_loop
        if other_loop:
            why = (
                "it belongs to another event loop; a process can only be reached from code "
                "running on its own loop (use loop.call_soon_threadsafe or "
                "asyncio.run_coroutine_threadsafe to get there)"
            )
        else:
            why = "no process is alive there (it has exited, or the name is not registered)"
        super().__init__(f"cannot {action} {dest!r}: {why}")


class CallTimeout(OtpyError, TimeoutError):
    """A call got no reply within its timeout."""

    def __init__(self, dest: object, request: object, timeout: float) -> None:
        self.dest = dest
        self.request = request
        self.timeout = timeout
        super().__init__(
            f"call to {dest!r} with {request!r} got no reply within {timeout}s; "
            "raise `timeout=` if the server is slow, or reply sooner from handle_call"
        )


class ReceiveTimeout(OtpyError, TimeoutError):
    """`receive` found no matching message within its timeout."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"no matching message arrived within {timeout}s")


class CallingSelf(OtpyError):
    """A process called itself, which would wait forever for its own reply."""

    def __init__(self, dest: object) -> None:
        self.dest = dest
        super().__init__(
            f"a process cannot call itself ({dest!r}): it would wait for a reply only it can "
            "give; handle the request directly, or cast to yourself"
        )


class ServerExited(OtpyError):
    """The server exited before replying to a call. `.reason` is its exit reason."""

    def __init__(self, dest: object, reason: object) -> None:
        self.dest = dest
        self.reason = reason
        super().__init__(f"server {dest!r} exited with reason {reason!r} before replying")


class AlreadyStarted(OtpyError):
    """The name asked for is taken. `.pid` is the process holding it."""

    def __init__(self, name: object, pid: Pid) -> None:
        self.name = name
        self.pid = pid
        super().__init__(
            f"name {name!r} is already registered to {pid!r}; "
            "use that process, or stop it first, or pick another name"
        )


class AlreadyRegistered(OtpyError):
    """A unique Registry key is taken. `.pid` is the process holding it."""

    def __init__(self, key: object, pid: Pid) -> None:
        self.key = key
        self.pid = pid
        super().__init__(f"key {key!r} is already registered to {pid!r} in a unique registry")


class StartError(OtpyError):
    """A process failed to start. `.reason` says why (an exception, a Stop reason, 'timeout')."""

    def __init__(self, reason: object, what: str = "process") -> None:
        self.reason = reason
        super().__init__(f"{what} failed to start: {reason!r}")


class BadReturn(OtpyError, TypeError):
    """A callback returned a value that is not in its table of allowed returns."""

    def __init__(self, cls: type, callback: str, value: object, allowed: str) -> None:
        self.cls = cls
        self.callback = callback
        self.value = value
        super().__init__(
            f"{cls.__qualname__}.{callback} returned {value!r}, which is not allowed; "
            f"it must return one of: {allowed}"
        )


class Unhandled(OtpyError, NotImplementedError):
    """A request reached a callback that the server's class does not define."""

    def __init__(
        self, cls: type, callback: str, request: Any, pid: Pid | None = None, name: Any = None
    ) -> None:
        self.cls = cls
        self.callback = callback
        self.request = request
        self.pid = pid
        self.name = name
        where = ""
        if pid is not None:
            where = f" (process {pid!r}" + (f", registered as {name!r})" if name else ")")
        super().__init__(
            f"{cls.__qualname__}{where} has no {callback} for {request!r}; define "
            f"`async def {callback}` (or extend it) to handle this request"
        )


class NotAProcess(OtpyError, RuntimeError):
    """An operation that needs a process was used from code that is not one."""


class WrongThread(OtpyError, RuntimeError):
    """An otpy function was called from a thread other than its event loop's."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} was called from a thread other than the event loop's; otpy is not "
            f"thread-safe: hand the work to the loop with "
            f"loop.call_soon_threadsafe({what.split('(')[0]}, ...)"
        )
