"""The pytest plugin of wsclient (entry point ``pytest11``): the ``ws_server`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from wsclient.testing.server import Server

try:  # pytest-asyncio's fixture decorator works in its strict and auto modes alike
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - another async runner (pytest-aiohttp brings asyncio)
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = ["ws_server"]


@_async_fixture
async def ws_server() -> AsyncIterator[Server]:
    """A started :class:`wsclient.testing.Server` on 127.0.0.1, stopped after the test."""
    async with Server() as server:
        yield server
