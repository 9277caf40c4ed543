"""Every code example in the docs is run by the tests.

Each markdown page (README.md and docs/**/*.md) is one test. Its blocks tagged ``python`` or
``py`` run in order, in one namespace, like the cells of a notebook, inside one fresh event loop;
top-level ``await`` is allowed. The namespace's ``__name__`` is not ``"__main__"``, so a block
ending in ``if __name__ == "__main__": otpy.run(...)`` defines its program without running it.
A page runs in an empty temporary directory, and the structlog and logging configuration it
changes is put back afterwards; whatever otpy processes it leaves running are killed.

A block made only of pymdownx.snippets includes (``--8<-- "docs/examples/x.py"``, or a section of
it, ``"docs/examples/x.py:name"``) is not run on the page: each file docs/examples/*.py is run as
a program of its own (``test_*.py`` files with pytest), below.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import linecache
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

import otpy
from otpy import Down
from tests.docs.blocks import Block, python_blocks

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
EXAMPLES = ROOT / "docs" / "examples"
PROGRAMS = sorted(EXAMPLES.glob("*.py"))

#: What a page's namespace is called: anything but "__main__".
NAMESPACE_NAME = "docs_example"
#: The line an example program run by otpy.run prints once its tree is up (otpy's own log).
READY = "application_started"
#: A guard on each program's run: it only bounds a failing test.
PROGRAM_GUARD = 30.0


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


class ExampleFailed(Exception):
    """A block of a page raised, or includes what it should not: where, and why."""


# -- the blocks of a page ---------------------------------------------------------------------


def _compile(block: Block) -> Any:
    filename = block.where
    # tracebacks then show the block's own lines
    lines = block.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(block.source), None, lines, filename)
    return compile(block.source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _included(name: str) -> tuple[Path, str | None]:
    """The file and the section (or None) a snippet include names."""
    path, _, section = name.partition(".py:")
    if section:
        return (ROOT / f"{path}.py").resolve(), section
    return (ROOT / name).resolve(), None


def _check_snippets(block: Block) -> None:
    for name in block.snippets:
        file, section = _included(name)
        if file.parent != EXAMPLES or file.suffix != ".py" or not file.is_file():
            raise ExampleFailed(
                f"{block.where}: includes {name!r}, which is not a file docs/examples/*.py "
                "(those are run by test_example_program)"
            )
        text = file.read_text(encoding="utf-8")
        if section is not None and f"# --8<-- [start:{section}]" not in text:
            raise ExampleFailed(f"{block.where}: {_rel(file)} has no section {section!r}")


async def _run_blocks(blocks: list[Block], ns: dict[str, Any]) -> None:
    ns["__name__"] = NAMESPACE_NAME
    for n, block in enumerate(blocks, 1):
        if block.snippets:
            _check_snippets(block)
            continue
        try:
            code = _compile(block)
            if code.co_flags & inspect.CO_COROUTINE:
                await eval(code, ns)
            else:
                exec(code, ns)
        except BaseException as e:  # CancelledError too: an exit signal from a linked process
            assert e.__traceback__ is not None
            raise ExampleFailed(
                f"{block.where} (python block {n} of {len(blocks)}) raised:\n"
                + "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
            ) from None


def _down_of(ref: otpy.Ref) -> Callable[[Any], bool]:
    return lambda m: type(m) is Down and m.ref == ref


async def _kill_leftovers() -> None:
    """Kill every otpy process still alive on this loop.

    otpy has no public list of all processes, so this reads its process table. Every process is
    sent "kill" in one go, without yielding, so that no supervisor gets to restart a child."""
    from otpy._runtime import _rt

    me = otpy.self_pid()
    for _ in range(10):
        live = [p.pid for p in _rt().procs.values() if p.alive and p.pid != me]
        if not live:
            return
        refs = {otpy.monitor(pid) for pid in live}
        for pid in live:
            otpy.exit(pid, "kill")
        for ref in refs:
            await otpy.receive(match=_down_of(ref), timeout=5.0)
    raise AssertionError("processes keep coming back after being killed")


async def _run_page(blocks: list[Block], ns: dict[str, Any] | None = None) -> None:
    """Run the blocks of one page in the namespace `ns` (a new one by default), then kill the
    processes they left."""
    # The blocks run in a task of their own, so that whatever they link to or trap leaves the
    # clean-up below alone.
    page = asyncio.create_task(_run_blocks(blocks, {} if ns is None else ns), name="docs page")
    try:
        await page
    finally:
        await _kill_leftovers()


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """Put back structlog's configuration and every stdlib logger's level and handlers (closing
    the handlers a page added): a page about logging reconfigures both."""
    was_configured = structlog.is_configured()
    config = structlog.get_config()
    manager = logging.Logger.manager

    def loggers() -> list[logging.Logger]:
        found = [lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)]
        return [logging.getLogger(), *found]

    saved = {id(lg): (lg.level, list(lg.handlers), lg.propagate, lg.disabled) for lg in loggers()}
    try:
        yield
    finally:
        if was_configured:
            structlog.configure(**config)
        else:
            structlog.reset_defaults()
        for lg in loggers():
            level, handlers, propagate, disabled = saved.get(id(lg), (0, [], True, False))
            for h in lg.handlers:
                if h not in handlers:
                    h.close()
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate, lg.disabled = propagate, disabled


@pytest.mark.timeout(30)
@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(page, ROOT)
    monkeypatch.chdir(tmp_path)  # what an example writes lands here
    failure: ExampleFailed | None = None
    try:
        with _logging_restored():
            asyncio.run(_run_page(blocks))
    except ExampleFailed as e:
        failure = e
    if failure is not None:  # outside the except: the report is the example's traceback alone
        pytest.fail(str(failure), pytrace=False)


def test_every_page_is_found() -> None:
    assert ROOT / "README.md" in PAGES
    assert ROOT / "docs" / "index.md" in PAGES


# -- the programs of docs/examples ------------------------------------------------------------

_INCLUDE = re.compile(r"""--8<--\s*["'](?P<name>[^"']+)["']""")


def test_every_program_is_shown_on_a_page() -> None:
    """A file in docs/examples/ that no page includes is an example nobody reads."""
    assert PROGRAMS, "docs/examples/ holds no program (the Makefile lints it)"
    shown = {
        _included(m.group("name"))[0]
        for page in PAGES
        for m in _INCLUDE.finditer(page.read_text(encoding="utf-8"))
    }
    assert [_rel(p) for p in PROGRAMS if p.resolve() not in shown] == []


async def _run_program(file: Path, cwd: Path) -> tuple[int, str]:
    if file.name.startswith("test_"):
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(file)]
    else:
        command = [sys.executable, str(file)]
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    out: list[str] = []
    try:
        async with asyncio.timeout(PROGRAM_GUARD):
            while line := (await proc.stdout.readline()).decode(errors="replace"):
                out.append(line)
                if READY in line:
                    proc.send_signal(signal.SIGTERM)
            code = await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(
            f"{_rel(file)} did not finish within {PROGRAM_GUARD}s:\n{''.join(out)}"
        ) from None
    return code, "".join(out)


@pytest.mark.timeout(PROGRAM_GUARD + 10)
@pytest.mark.parametrize("file", PROGRAMS, ids=_rel)
async def test_example_program(file: Path, tmp_path: Path) -> None:
    """A docs/examples program exits 0 by itself, or, if it runs a tree with otpy.run until a
    signal, exits 0 after SIGTERM, sent once it logged application_started. A test_*.py file's
    tests pass under pytest."""
    code, out = await _run_program(file, tmp_path)
    assert code == 0, f"{_rel(file)} exited with {code}:\n{out}"
    if READY in out:
        assert "application_stopped" in out, out
