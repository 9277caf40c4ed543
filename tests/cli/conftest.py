"""Every CLI test's subprocess is killed at the end, whatever the test did."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from .support import Cli, run_cli


@pytest_asyncio.fixture
async def cli() -> AsyncIterator[Callable[..., Awaitable[Cli]]]:
    started: list[Cli] = []

    async def start(*args: str, **kw: Any) -> Cli:
        c = await run_cli(*args, **kw)
        started.append(c)
        return c

    yield start
    for c in started:
        await c.kill()
