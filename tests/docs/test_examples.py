"""Every code example in the docs is run by the tests.

Each markdown page (README.md and docs/**/*.md) is one test. Its blocks tagged ``python`` or
``py`` run in order, in one namespace, like the cells of a notebook, inside one fresh event loop;
top-level ``await`` is allowed. The namespace's ``__name__`` is not ``"__main__"``, so a block
ending in ``if __name__ == "__main__": otpy.run(...)`` defines its program without running it.
A block that only includes files with pymdownx.snippets (``--8<-- "docs/examples/x.py"``) is
not run on the page: each file under docs/examples/ is run as a program of its own, below.
Whatever otpy processes a page leaves running are killed once it is done.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import linecache
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

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
PROGRAM_GUARD = 20.0


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


class ExampleFailed(Exception):
    """A block of a page raised: where it is, and the traceback."""


def _compile(block: Block) -> Any:
    filename = block.where
    # tracebacks then show the block's own lines
    lines = block.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(block.source), None, lines, filename)
    return compile(block.source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _check_snippets(block: Block) -> None:
    for name in block.snippets:
        file = (ROOT / name).resolve()
        if file.parent != EXAMPLES or file.suffix != ".py" or not file.is_file():
            raise ExampleFailed(
                f"{block.where}: includes {name!r}, which is not a file docs/examples/*.py "
                "(those are run by test_example_program)"
            )


async def _run_blocks(blocks: list[Block]) -> None:
    ns: dict[str, Any] = {"__name__": NAMESPACE_NAME}
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
            raise ExampleFailed(
                f"{block.where} (python block {n} of {len(blocks)}) raised:\n"
                + "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
            ) from None


async def _kill_leftovers() -> list[str]:
    """Kill every otpy process still alive on this loop; return their labels.

    otpy has no public list of all processes, so this reads its process table. Every process is
    sent "kill" in one go, without yielding, so that no supervisor gets to restart a child."""
    from otpy._runtime import _rt

    me = otpy.self_pid()
    left: list[str] = []
    for _ in range(10):
        live = [p for p in _rt().procs.values() if p.alive and p.pid != me]
        if not live:
            return left
        refs = {otpy.monitor(p.pid) for p in live}
        left += [f"{p.pid!r} {p.label}" for p in live]
        for p in live:
            otpy.exit(p.pid, "kill")
        for _ref in list(refs):
            down = await otpy.receive(
                match=lambda m, refs=refs: type(m) is Down and m.ref in refs, timeout=5.0
            )
            refs.discard(down.ref)
    raise AssertionError(f"processes keep coming back after being killed: {left}")


async def _run_page(blocks: list[Block]) -> None:
    # The blocks run in a task of their own, so that whatever they link to or trap leaves the
    # clean-up below alone.
    page = asyncio.create_task(_run_blocks(blocks), name="docs page")
    try:
        await page
    finally:
        await _kill_leftovers()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_page_examples_run(page: Path) -> None:
    blocks = python_blocks(page, ROOT)
    failure: ExampleFailed | None = None
    try:
        asyncio.run(_run_page(blocks))
    except ExampleFailed as e:
        failure = e
    if failure is not None:  # outside the except: the report is the example's traceback alone
        pytest.fail(str(failure), pytrace=False)


def test_every_page_is_found() -> None:
    assert ROOT / "README.md" in PAGES
    assert ROOT / "docs" / "index.md" in PAGES


def test_docs_examples_exist() -> None:
    assert PROGRAMS, "docs/examples/ holds no program (the Makefile lints it)"


async def _run_program(file: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(file),
        cwd=ROOT,
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


@pytest.mark.timeout(30)
@pytest.mark.parametrize("file", PROGRAMS, ids=_rel)
async def test_example_program(file: Path) -> None:
    """A docs/examples program exits 0 by itself, or, if it runs a tree with otpy.run until a
    signal, exits 0 after SIGTERM, sent once it logged application_started."""
    code, out = await _run_program(file)
    assert code == 0, f"{_rel(file)} exited with {code}:\n{out}"
    if READY in out:
        assert "application_stopped" in out, out
