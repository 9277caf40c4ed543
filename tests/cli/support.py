"""Running the ``wsclient`` command in a real subprocess, reading its output as it comes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["GUARD", "Cli", "run_cli"]

#: The guard on every wait for the subprocess (never reached when things work).
GUARD = 20.0


class _Stream:
    """Lines of one of the subprocess's output streams, kept as they arrive."""

    def __init__(self, reader: asyncio.StreamReader, name: str) -> None:
        self.lines: list[str] = []
        self.name = name
        self._reader = reader
        self._changed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            raw = await self._reader.readline()
            if not raw:
                self._changed.set()
                return
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self._changed.set()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    async def wait_line(self, pred: Callable[[str], bool], what: str, after: int = 0) -> str:
        """Wait for a line (from index `after` on) for which `pred` holds; return it."""

        async def find() -> str:
            while True:
                for line in self.lines[after:]:
                    if pred(line):
                        return line
                if self.task.done():
                    raise AssertionError(f"{self.name} ended without {what}:\n{self.text}")
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), GUARD)
        except TimeoutError:
            raise AssertionError(
                f"no {what} on {self.name} within {GUARD}s:\n{self.text}"
            ) from None

    async def wait_text(self, fragment: str, after: int = 0) -> str:
        return await self.wait_line(lambda line: fragment in line, repr(fragment), after)


class Cli:
    """A running ``python -m wsclient ARGS`` with piped stdin, stdout and stderr."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        assert proc.stdout is not None and proc.stderr is not None
        self.out = _Stream(proc.stdout, "stdout")
        self.err = _Stream(proc.stderr, "stderr")

    async def send_line(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    async def wait(self) -> int:
        """Wait for the exit (and the end of its output); return the exit status."""
        try:
            code = await asyncio.wait_for(self.proc.wait(), GUARD)
            await asyncio.wait_for(asyncio.gather(self.out.task, self.err.task), GUARD)
        except TimeoutError:
            raise AssertionError(
                f"the command did not exit within {GUARD}s\nstdout:\n{self.out.text}\n"
                f"stderr:\n{self.err.text}"
            ) from None
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        for t in (self.out.task, self.err.task):
            t.cancel()
        await asyncio.gather(self.out.task, self.err.task, return_exceptions=True)


async def run_cli(*args: str, env: dict[str, str] | None = None, **kw: Any) -> Cli:
    """Start ``python -m wsclient *args`` (not on a terminal: stdout and stderr are pipes)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE"):
        if env is None or name not in env:
            full_env.pop(name, None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wsclient", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=full_env, **kw,
    )  # fmt: skip
    return Cli(proc)
