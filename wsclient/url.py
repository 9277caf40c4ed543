"""The URL a client connects to, checked at ``start_link``: ws:// or wss://, a host, the query
kept, an empty path sent as "/". Its ``display`` form has no credentials, for logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yarl

from wsclient.errors import InvalidURL

__all__ = ["ClientURL", "parse_url", "redact"]


@dataclass(frozen=True, slots=True)
class ClientURL:
    """A checked websocket URL. ``url`` is what is connected to (credentials included, for the
    handshake's Authorization); ``display`` is the same without user and password."""

    url: yarl.URL
    display: str

    @property
    def secure(self) -> bool:
        return self.url.scheme == "wss"

    def __repr__(self) -> str:
        return f"ClientURL({self.display!r})"


def redact(url: yarl.URL) -> str:
    """`url` as text without its user and password."""
    if url.user is None and url.password is None:
        return str(url)
    return str(url.with_user(None).with_password(None))


def parse_url(value: Any) -> ClientURL:
    """Check `value` (a str or a yarl.URL); raise InvalidURL saying what is wrong."""
    if isinstance(value, yarl.URL):
        url = value
    elif isinstance(value, str):
        try:
            url = yarl.URL(value)
        except (ValueError, TypeError) as e:
            raise InvalidURL(f"not a URL ({e}); give one like 'wss://host/path'") from None
    else:
        raise InvalidURL(f"the URL must be a str or a yarl.URL, not {type(value).__name__}")
    try:
        shown = redact(url) if url.absolute else "(a relative URL)"
        host = url.host
    except (UnicodeError, ValueError) as e:  # a host that IDNA refuses
        raise InvalidURL(f"the URL's host is not valid ({e})") from None
    if url.scheme not in ("ws", "wss"):
        scheme = url.scheme or "none"
        hint = " (use wss:// for https)" if url.scheme in ("http", "https") else ""
        raise InvalidURL(f"{shown}: the scheme must be ws or wss, not {scheme}{hint}")
    if not host:
        raise InvalidURL(f"{shown}: the URL has no host")
    if any(c.isspace() for c in host):
        raise InvalidURL(f"{shown}: the host has white space in it")
    if url.fragment:
        raise InvalidURL(f"{shown}: a websocket URL has no #fragment (RFC 6455 3)")
    try:
        port = url.port
    except ValueError as e:
        raise InvalidURL(f"{shown}: {e}") from None
    if port == 0:
        raise InvalidURL(f"{shown}: port 0 cannot be connected to")
    if not url.raw_path:
        url = url.with_path("/")
    return ClientURL(url, redact(url))
