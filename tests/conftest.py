"""Suite-wide checks.

Every test fails if, while it ran (including the event loop's teardown), asyncio reported a task
destroyed while still pending or an exception that nobody retrieved: both mean a task or a future
escaped its owner, which otpy promises never happens.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator

import pytest

_LEAK_MARKERS = ("Task was destroyed but it is pending", "exception was never retrieved")


class _LeakHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if any(marker in message for marker in _LEAK_MARKERS):
            self.leaks.append(message)


@pytest.fixture(autouse=True)
def no_leaked_tasks_or_exceptions() -> Iterator[None]:
    """Fail the test if asyncio logs a pending task destroyed or an unretrieved exception.

    This fixture is set up before pytest-asyncio's per-test event loop runner, so its teardown
    runs after the loop has been closed: `gc.collect()` then finalises whatever the test left.
    """
    asyncio_logger = logging.getLogger("asyncio")
    handler = _LeakHandler()
    asyncio_logger.addHandler(handler)
    try:
        yield
        gc.collect()
    finally:
        asyncio_logger.removeHandler(handler)
    if handler.leaks:
        pytest.fail("asyncio reported leaks:\n" + "\n".join(handler.leaks), pytrace=False)
