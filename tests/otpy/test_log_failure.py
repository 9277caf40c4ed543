"""A logging set-up that raises does not keep a crash from being notified."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog

import otpy

from .support import wait_down


@pytest.fixture
def broken_logging() -> Iterator[None]:
    def explode(_logger: Any, _method: str, event: Any) -> Any:
        raise BrokenPipeError("the log's reader went away")

    old = structlog.get_config()["processors"]
    structlog.configure(processors=[explode])
    try:
        yield
    finally:
        structlog.configure(processors=old)


async def test_a_crash_is_notified_when_logging_it_raises(
    broken_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    async def crash() -> None:
        raise RuntimeError("boom")

    pid = otpy.spawn(crash)
    down = await wait_down(otpy.monitor(pid))
    assert isinstance(down.reason, RuntimeError)
    assert f"otpy: logging the exit of {pid!r} failed: BrokenPipeError" in capsys.readouterr().err
