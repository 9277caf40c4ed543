"""The options of a client, checked at ``start_link`` so that a mistake fails in the caller.

Each default is explained where it is defined, in :class:`Options`.
"""

from __future__ import annotations

import math
import ssl as _ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import aiohttp
from multidict import CIMultiDict

from wsclient.backoff import Backoff
from wsclient.errors import InvalidOption

__all__ = ["SECRET_HEADERS", "Options", "parse_options"]

#: Headers whose values never appear in logs, stats or exception messages.
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "set-cookie"})


@dataclass(frozen=True, slots=True)
class Options:
    """A client's options. Pass them as keywords to ``start_link``."""

    #: Extra handshake headers (a mapping or (name, value) pairs). Secret ones (Authorization,
    #: Cookie, Proxy-Authorization) are sent but never logged.
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    #: Subprotocols offered, in order of preference; the chosen one is ``status.subprotocol``.
    subprotocols: tuple[str, ...] = ()
    #: Seconds for TCP, TLS and the upgrade answer together. 10 s: ample for a TLS handshake
    #: across continents, short enough that a server that accepts and never answers is retried.
    connect_timeout: float = 10.0
    #: Seconds to wait for the peer's close frame after sending ours, then the socket is
    #: dropped. 5 s, as the original.
    close_timeout: float = 5.0
    #: Send a ping when nothing arrived for this many seconds (None: no heartbeat). 20 s keeps
    #: NAT and load-balancer idle timers (often 30-60 s) from cutting a quiet feed.
    ping_interval: float | None = 20.0
    #: Seconds to wait for anything from the peer after a ping before the connection is
    #: declared dead. 20 s: a slow link is not a dead one.
    ping_timeout: float | None = 20.0
    #: Offer permessage-deflate (RFC 7692). On: feeds of JSON compress several times over.
    compress: bool = True
    #: The largest message accepted, in bytes (None: no limit). 16 MiB: a full order-book
    #: snapshot fits; a runaway peer cannot take the process's memory.
    max_msg_size: int | None = 16 * 1024 * 1024
    #: TLS: None verifies against the system's roots (the default; never turned off quietly),
    #: an ``ssl.SSLContext`` is used as given, False turns verification off.
    ssl: _ssl.SSLContext | bool | None = None
    #: An HTTP proxy URL (credentials in it are used, never logged), or None.
    proxy: str | None = None
    #: An ``aiohttp.ClientSession`` to connect with. None: one session per event loop, shared
    #: by all clients, with no connection limit (10,000 clients work with the defaults).
    session: aiohttp.ClientSession | None = None
    #: The reconnect policy.
    backoff: Backoff = field(default_factory=Backoff)
    #: When this many received frames wait for ``handle_frame``, the client stops reading the
    #: socket and TCP pushes back on the server; what one read of the socket had already
    #: brought in still arrives (up to 256 KiB of frames more). aiohttp's own bound holds too
    #: (512 KiB, counting 128 B more for each frame), and with the default of 4096 that one
    #: comes first for frames of any size: lower it to bound the count of small frames.
    max_queue: int = 4096
    #: ``"async"``: ``start_link`` returns before the first connection is up, as the original;
    #: ``"sync"``: it waits for it, and raises the disconnect reason if it fails.
    connect: str = "async"

    def shown_headers(self) -> dict[str, str]:
        """The headers, with secret values replaced, for logs and stats."""
        return {
            k: ("<redacted>" if k.lower() in SECRET_HEADERS else v)
            for k, v in self.headers.items()
        }

    def __repr__(self) -> str:
        return f"Options(headers={self.shown_headers()!r}, subprotocols={self.subprotocols!r})"


_NAMES = tuple(f.name for f in fields(Options))
_MAX_MSG_LIMIT = 2**31 - 1  # aiohttp's reader keeps the limit in a C integer


def _seconds(name: str, value: Any, allow_none: bool, positive: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        none = " or None" if allow_none else ""
        raise InvalidOption(f"{name} must be a number of seconds{none}, not {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise InvalidOption(f"{name} must be a finite number of seconds > 0, not {value!r}")
    return float(value)


def _headers(value: Any) -> CIMultiDict[str]:
    if value is None:
        return CIMultiDict()
    if isinstance(value, Mapping):
        items: Iterable[Any] = value.items()
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        items = value
    else:
        raise InvalidOption(f"headers must be a mapping or (name, value) pairs, not {value!r}")
    out: CIMultiDict[str] = CIMultiDict()
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InvalidOption(f"headers: each header is a (name, value) pair, not {item!r}")
        k, v = item
        if not isinstance(k, str) or not k or any(c in k for c in ":\r\n "):
            raise InvalidOption(f"headers: {k!r} is not a header name")
        if not isinstance(v, str) or "\r" in v or "\n" in v:
            shown = "<redacted>" if str(k).lower() in SECRET_HEADERS else repr(v)
            raise InvalidOption(
                f"headers: the value of {k} must be a str without CR/LF, not {shown}"
            )
        out.add(k, v)
    return out


def parse_options(options: dict[str, Any]) -> Options:
    """Options from keywords; InvalidOption for an unknown name or a bad value."""
    unknown = sorted(set(options) - set(_NAMES))
    if unknown:
        raise InvalidOption(
            f"unknown option(s) {', '.join(unknown)}; the options are: {', '.join(_NAMES)}"
        )
    kw: dict[str, Any] = {}
    if "headers" in options:
        kw["headers"] = _headers(options["headers"])
    if "subprotocols" in options:
        sp = options["subprotocols"]
        if isinstance(sp, str) or not isinstance(sp, Iterable):
            raise InvalidOption(f"subprotocols must be a list of str, not {sp!r}")
        sp = tuple(sp)
        if not all(isinstance(p, str) and p and " " not in p and "," not in p for p in sp):
            raise InvalidOption(f"subprotocols must be non-empty tokens, not {sp!r}")
        kw["subprotocols"] = sp
    for name in ("connect_timeout", "close_timeout"):
        if name in options:
            kw[name] = _seconds(name, options[name], allow_none=False)
    for name in ("ping_interval", "ping_timeout"):
        if name in options:
            kw[name] = _seconds(name, options[name], allow_none=True)
    if "compress" in options:
        if not isinstance(options["compress"], bool):
            raise InvalidOption(f"compress must be True or False, not {options['compress']!r}")
        kw["compress"] = options["compress"]
    if "max_msg_size" in options:
        m = options["max_msg_size"]
        if m is not None and (
            isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= _MAX_MSG_LIMIT
        ):
            raise InvalidOption(
                f"max_msg_size must be an int of bytes from 1 to {_MAX_MSG_LIMIT} (2 GiB), or "
                f"None for no limit, not {m!r}"
            )
        kw["max_msg_size"] = m
    if "ssl" in options:
        s = options["ssl"]
        if not (s is None or s is False or s is True or isinstance(s, _ssl.SSLContext)):
            raise InvalidOption(f"ssl must be None, False or an ssl.SSLContext, not {s!r}")
        kw["ssl"] = None if s is True else s
    if "proxy" in options:
        p = options["proxy"]
        if p is not None and not isinstance(p, str):
            raise InvalidOption(f"proxy must be a URL str or None, not {type(p).__name__}")
        if p is not None and not p.startswith(("http://", "https://")):
            raise InvalidOption("proxy must be an http:// or https:// URL")
        kw["proxy"] = p
    if "session" in options:
        s = options["session"]
        if s is not None and not isinstance(s, aiohttp.ClientSession):
            raise InvalidOption(f"session must be an aiohttp.ClientSession, not {s!r}")
        if s is not None and s.closed:
            raise InvalidOption("the session given is closed; pass an open ClientSession")
        kw["session"] = s
    if "backoff" in options:
        b = options["backoff"]
        if not isinstance(b, Backoff):
            raise InvalidOption(f"backoff must be a wsclient.Backoff, not {b!r}")
        kw["backoff"] = b
    if "max_queue" in options:
        q = options["max_queue"]
        if isinstance(q, bool) or not isinstance(q, int) or q < 1:
            raise InvalidOption(f"max_queue must be an int >= 1, not {q!r}")
        kw["max_queue"] = q
    if "connect" in options:
        c = options["connect"]
        if c not in ("async", "sync"):
            raise InvalidOption(f"connect must be 'async' or 'sync', not {c!r}")
        kw["connect"] = c
    if (
        kw.get("ping_interval", 20.0) is None
        and kw.get("ping_timeout", 20.0) is not None
        and "ping_timeout" in kw
    ):
        raise InvalidOption("ping_timeout needs ping_interval (or set both to None)")
    return Options(**kw)
