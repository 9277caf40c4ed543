"""otpy.run: run a tree as a program until SIGTERM/SIGINT, exit non-zero if the root gives up.

The programs run for real in a subprocess. Their children print a line when they start and when
they terminate; the test reads the program's stdout line by line (never sleeping) and sends the
signal once the application has said it is started.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import otpy
from otpy import GenServer, NoReply, Ok

GUARD = 20.0  # a whole subprocess run, interpreter start-up included

PRELUDE = """
import sys

import structlog

import otpy
from otpy import ChildSpec, GenServer, NoReply, Ok

# every otpy event as one plain line on stdout, so the test can wait for it
structlog.configure(
    processors=[structlog.processors.KeyValueRenderer(key_order=["event"])],
    logger_factory=structlog.PrintLoggerFactory(sys.stdout),
)


class Child(GenServer):
    trap_exits = True  # so that the supervisor's exit(shutdown) runs terminate

    async def init(self, name):
        print(f"init {name}", flush=True)
        return Ok(name)

    async def terminate(self, reason, name):
        print(f"terminate {name} {reason}", flush=True)


class Crashy(GenServer):
    async def init(self, name):
        print(f"init {name}", flush=True)
        return Ok(name, continue_="crash")

    async def handle_continue(self, what, name):
        raise RuntimeError(f"{name} crashes on start-up")
"""


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "app.py"
    path.write_text(PRELUDE + textwrap.dedent(body))
    return path


@contextlib.asynccontextmanager
async def _running(path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run the program; kill it on the way out if a failed assertion left it running."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _read_until(proc: asyncio.subprocess.Process, marker: str) -> list[str]:
    """Lines of stdout up to and including the first one containing `marker`."""
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(GUARD):
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise AssertionError(f"{marker!r} never printed; output was:\n" + "".join(lines))
            lines.append(raw.decode())
            if marker in lines[-1]:
                return lines


async def _finish(proc: asyncio.subprocess.Process) -> tuple[int, list[str]]:
    """Wait for the program to exit; its exit status and the rest of its output."""
    assert proc.stdout is not None
    async with asyncio.timeout(GUARD):
        rest = await proc.stdout.read()
        code = await proc.wait()
    return code, rest.decode().splitlines()


def _ours(lines: list[str]) -> list[str]:
    """The children's own lines (init / terminate), in order."""
    return [ln.strip() for ln in lines if ln.startswith(("init ", "terminate "))]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_run_stops_the_tree_in_reverse_order_on_a_signal_and_exits_zero(
    tmp_path: Path, sig: signal.Signals
) -> None:
    path = _script(
        tmp_path,
        """
        otpy.run([Child.child_spec(n, id=n) for n in ("a", "b", "c")])
        print("run returned", flush=True)
        """,
    )
    async with _running(path) as proc:
        before = await _read_until(proc, "application_started")
        proc.send_signal(sig)
        code, after = await _finish(proc)

    assert _ours(before) == ["init a", "init b", "init c"]
    assert code == 0, "\n".join(before + after)
    assert _ours(after) == ["terminate c shutdown", "terminate b shutdown", "terminate a shutdown"]
    assert any(f"signal='{sig.name}'" in ln for ln in after)  # application_stopping
    assert after[-1] == "run returned"


async def test_run_runs_the_tree_on_the_loop_its_loop_factory_makes(tmp_path: Path) -> None:
    path = _script(
        tmp_path,
        """
        import asyncio
        import uvloop

        class Where(GenServer):
            async def init(self, arg):
                print(f"init loop {type(asyncio.get_running_loop()).__module__}", flush=True)
                return Ok(arg)

        otpy.run([Where], loop_factory=uvloop.new_event_loop)
        print("run returned", flush=True)
        """,
    )
    async with _running(path) as proc:
        before = await _read_until(proc, "application_started")
        proc.send_signal(signal.SIGTERM)
        code, after = await _finish(proc)
    assert any(ln.startswith("init loop uvloop") for ln in before), before
    assert code == 0, "\n".join(before + after)
    assert after[-1] == "run returned"


def test_run_refuses_a_loop_factory_that_is_not_callable() -> None:
    with pytest.raises(TypeError, match="loop_factory must be a callable returning a loop"):
        otpy.run([], loop_factory="uvloop")


async def test_run_with_a_supervisor_subclass_as_root_stops_it_on_sigterm(tmp_path: Path) -> None:
    path = _script(
        tmp_path,
        """
        from otpy import Supervisor, SupervisorSpec

        class App(Supervisor):
            async def init(self, names):
                return SupervisorSpec([Child.child_spec(n, id=n) for n in names])

        otpy.run((App, ["x", "y"]))
        """,
    )
    async with _running(path) as proc:
        before = await _read_until(proc, "application_started")
        proc.send_signal(signal.SIGTERM)
        code, after = await _finish(proc)

    assert _ours(before) == ["init x", "init y"]
    assert code == 0, "\n".join(before + after)
    assert _ours(after) == ["terminate y shutdown", "terminate x shutdown"]


async def test_run_exits_non_zero_when_the_root_supervisor_reaches_its_intensity(
    tmp_path: Path,
) -> None:
    path = _script(
        tmp_path,
        """
        otpy.run(
            [Child.child_spec("steady", id="steady"), Crashy.child_spec("crashy", id="crashy")],
            max_restarts=2,
            max_seconds=3600,
        )
        print("run returned", flush=True)
        """,
    )
    async with _running(path) as proc:
        code, lines = await _finish(proc)

    assert code == 1, "\n".join(lines)
    # started once, restarted twice, then the root gave up and shut the rest down
    assert _ours(lines) == [
        "init steady",
        "init crashy",
        "init crashy",
        "init crashy",
        "terminate steady shutdown",
    ]
    assert any("intensity_reached" in ln for ln in lines)
    assert any("root_supervisor_exited" in ln for ln in lines)
    assert "run returned" not in lines


async def test_run_exits_non_zero_when_the_tree_fails_to_start(tmp_path: Path) -> None:
    path = _script(
        tmp_path,
        """
        class Refuses(GenServer):
            async def init(self, arg):
                raise RuntimeError("cannot start")

        otpy.run([Child.child_spec("a", id="a"), Refuses.child_spec(id="refuses")])
        print("run returned", flush=True)
        """,
    )
    async with _running(path) as proc:
        code, lines = await _finish(proc)

    assert code == 1, "\n".join(lines)
    assert _ours(lines) == ["init a", "terminate a shutdown"]
    assert any("root_start_failed" in ln and "cannot start" in ln for ln in lines)
    assert "run returned" not in lines


# -- run_async in this process (no signal needed) -------------------------------------------


class Crashes(GenServer):
    async def init(self, arg: object) -> Ok:
        return Ok(arg, continue_="crash")

    async def handle_continue(self, what: object, state: object) -> NoReply:
        raise RuntimeError("crash on start-up")


async def test_run_async_returns_one_when_the_root_supervisor_dies() -> None:
    code = await asyncio.wait_for(
        otpy.run_async([Crashes.child_spec(id="c")], max_restarts=1, max_seconds=3600), GUARD
    )
    assert code == 1


async def test_run_async_refuses_flags_with_a_single_root_child() -> None:
    with pytest.raises(TypeError, match="flags"):
        await otpy.run_async(Crashes.child_spec(id="c"), strategy="one_for_all")


async def _run_async_until_the_root_dies() -> None:
    """run_async in the calling task (wait_for would run it in a task of its own)."""
    async with asyncio.timeout(GUARD):
        code = await otpy.run_async([Crashes.child_spec(id="c")], max_restarts=1, max_seconds=3600)
    assert code == 1


async def test_run_async_restores_the_callers_trap_exits_flag() -> None:
    me = otpy.self_pid()
    await _run_async_until_the_root_dies()
    info = otpy.process_info(me)
    assert info is not None and info.trap_exit is False


async def test_run_async_leaves_the_callers_mailbox_as_it_found_it() -> None:
    me = otpy.self_pid()
    otpy.send(me, "mine")
    await _run_async_until_the_root_dies()
    assert await otpy.receive(timeout=0) == "mine"
    info = otpy.process_info(me)
    assert info is not None and info.message_queue_len == 0  # no Down or Exit of the root
