"""Fixtures of the observer tests: observers stopped after the test, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

import otpy

from .support import Running, start_observer, stop_observer


@pytest.fixture
async def observe() -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    """``await observe(**ObserverOptions fields)`` starts an observer; each is stopped after the
    test if it is still running."""
    started: list[Running] = []

    async def start(**options: Any) -> Running:
        obs = await start_observer(**options)
        started.append(obs)
        return obs

    yield start
    for obs in started:
        if otpy.is_alive(obs.pid):
            await stop_observer(obs)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session (closed after the test)."""
    async with aiohttp.ClientSession() as session:
        yield session
