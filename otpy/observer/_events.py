"""The observer's tail of log events: a tap just before the last of structlog's processors.

structlog gives every bound logger the configured processor list itself, so inserting the tap
into that list reaches the loggers made before the observer started, as well as later ones. It
goes just before the last processor (the renderer, as a rule), so that the application's own
filters and redaction apply to what the page shows as they do to its logs. The tap copies what
it needs and passes the event on untouched; it is removed when the observer stops. (A later
``structlog.configure(processors=...)`` replaces the list, and the tap with it, for the loggers
made from then on.)
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import deque
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog

__all__ = ["EventTap", "LogEvent"]

#: Fields that say which process an event is about.
WHO_FIELDS = ("pid", "name", "client", "child_id", "supervisor", "supervisor_pid", "old_pid")
#: The longest field value kept, in characters.
MAX_FIELD = 300
# up to the last "@" before the path: a password may hold an "@" of its own
_USERINFO = re.compile(r"(://)[^/\s]*@")
_SECRET_KEYS = (
    "authorization", "auth", "cookie", "token", "password", "passwd", "pwd", "secret",
    "api_key", "apikey", "api-key", "credential", "private_key",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One structlog event, as the observer keeps it: every value as text."""

    seq: int
    ts: float
    level: str
    event: str
    #: The values of WHO_FIELDS that the event has.
    who: tuple[str, ...]
    fields: dict[str, str]


def scrub(text: str) -> str:
    """`text` without the user and password of any URL in it."""
    return _USERINFO.sub(r"\1<redacted>@", text)


def _secret(key: Any) -> bool:
    name = str(key).lower()
    return any(s in name for s in _SECRET_KEYS)


def _redacted(value: Any, depth: int = 0) -> Any:
    """`value` with the values of secret-looking keys of its mappings replaced, however deep
    (a ``headers={"Authorization": ...}`` field)."""
    if depth > 4:
        return value
    if isinstance(value, Mapping):
        return {
            k: "<redacted>" if _secret(k) else _redacted(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redacted(v, depth + 1) for v in value)
    return value


class EventTap:
    """Keeps the last `maxlen` events; callable as a structlog processor."""

    def __init__(self, maxlen: int = 500) -> None:
        self.events: deque[LogEvent] = deque(maxlen=maxlen)
        self.seq = 0
        self._chain: list[Any] | None = None

    def __call__(self, _logger: Any, method: str, event: MutableMapping[str, Any]) -> Any:
        with contextlib.suppress(Exception):  # the tap never breaks anyone's logging
            self._keep(method, event)
        return event

    def _keep(self, method: str, event: MutableMapping[str, Any]) -> None:
        fields: dict[str, str] = {}
        for key, value in event.items():
            if key == "event":
                continue
            if _secret(key):
                fields[key] = "<redacted>"
                continue
            if key == "exc_info" and value:
                exc = value if isinstance(value, BaseException) else None
                text = f"{type(exc).__name__}: {exc}" if exc is not None else "(traceback)"
            else:
                text = value if isinstance(value, str) else repr(_redacted(value))
            fields[key] = scrub(text)[:MAX_FIELD]  # scrubbed whole: a cut URL would not match
        level = "error" if method in ("exception", "critical") else method
        self.seq += 1
        who = tuple(fields[k] for k in WHO_FIELDS if k in fields)
        name = scrub(str(event.get("event")))[:MAX_FIELD]
        self.events.append(LogEvent(self.seq, time.time(), level, name, who, fields))

    def since(self, seq: int) -> list[LogEvent]:
        """The events kept whose seq is above `seq`, oldest first."""
        return [e for e in self.events if e.seq > seq]

    def install(self) -> None:
        chain = structlog.get_config()["processors"]
        if not isinstance(chain, list):  # configured with a tuple: only new loggers see the tap
            chain = list(chain)
            chain.insert(max(len(chain) - 1, 0), self)
            structlog.configure(processors=chain)
        elif self not in chain:
            chain.insert(max(len(chain) - 1, 0), self)  # before the renderer
        self._chain = chain

    def uninstall(self) -> None:
        chain, self._chain = self._chain, None
        if chain is not None and self in chain:
            chain.remove(self)
