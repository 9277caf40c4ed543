"""The structlog logger otpy writes its events to (configure structlog as usual to route them)."""

from __future__ import annotations

from typing import Any

import structlog

__all__ = ["logger"]


def logger(**initial: Any) -> Any:
    """Return otpy's structlog logger, bound to `initial` values."""
    return structlog.get_logger("otpy").bind(**initial)
