"""Argument checks shared by the API: durations and counts, checked before any side effect.

OTP guards ``gen:call`` and ``gen:stop`` the same way: a bad timeout is the caller's mistake and
must raise in the caller before a message is sent, a name registered or a process stopped.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_count", "check_duration", "check_timeout"]


def check_duration(value: Any, what: str) -> float:
    """A finite number of seconds >= 0 (bools and NaN refused), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number of seconds >= 0, not {value!r}")
    return float(value)


def check_timeout(value: Any, what: str = "timeout") -> float | None:
    """None (wait forever) or a duration, see :func:`check_duration`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds or None, not {value!r}")
    if not math.isfinite(value) or value < 0:
        hint = " (use None to wait forever)" if value == math.inf else ""
        raise ValueError(f"{what} must be a finite number of seconds >= 0{hint}, not {value!r}")
    return value if type(value) is float else float(value)


def check_count(value: Any, what: str, minimum: int = 0, allow_none: bool = False) -> int | None:
    """An int >= `minimum` (bools refused), or None when `allow_none`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        none = " or None" if allow_none else ""
        raise TypeError(f"{what} must be an int >= {minimum}{none}, not {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, not {value!r}")
    return value
