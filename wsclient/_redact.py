"""Keeping credentials out of logs and exception messages.

A client knows its secrets: the URL's user and password, the values of its Authorization,
Cookie and Proxy-Authorization headers, and the proxy URL's credentials. :class:`Redactor`
replaces each of them with ``<redacted>`` in any text, and turns an exception whose message
holds one into a :class:`RedactedError` that carries only the cleaned message.
"""

from __future__ import annotations

from typing import Any

import yarl

from wsclient.errors import WsClientError
from wsclient.options import SECRET_HEADERS, Options
from wsclient.url import ClientURL

__all__ = ["RedactedError", "Redactor"]

_MARK = "<redacted>"


class RedactedError(WsClientError):
    """Stands in for an error whose message held a credential. `.type` is the original
    error's class name; the original itself is dropped, since its message (and so any
    traceback printing it) would show the secret."""

    def __init__(self, type_name: str, message: str) -> None:
        self.type = type_name
        super().__init__(f"{type_name}: {message}")


class Redactor:
    """Removes one client's secrets from text."""

    __slots__ = ("secrets",)

    def __init__(self, url: ClientURL, opts: Options) -> None:
        found: set[str] = set()
        _url_secrets(url.url, found)
        if opts.proxy:
            _url_secrets(yarl.URL(opts.proxy), found)
        for name, value in opts.headers.items():
            if name.lower() in SECRET_HEADERS and value:
                found.add(value)
                found.update(part for part in value.split() if len(part) >= 4)
        # longest first, so that a secret containing another is replaced whole
        self.secrets = tuple(sorted((s for s in found if s), key=len, reverse=True))

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, _MARK)
        return value

    def error(self, exc: BaseException) -> BaseException:
        """`exc` if its message is clean, else a RedactedError with the cleaned message."""
        if not self.secrets:
            return exc
        shown = str(exc)
        clean = self.text(shown)
        if clean == shown and self.text(repr(exc)) == repr(exc):
            return exc
        return RedactedError(type(exc).__name__, clean)

    def value(self, value: Any) -> str:
        """repr(value), cleaned."""
        return self.text(repr(value))


def _url_secrets(url: yarl.URL, found: set[str]) -> None:
    for part in (url.user, url.password, url.raw_user, url.raw_password):
        if part:
            found.add(part)
    if url.raw_user and url.raw_password:
        found.add(f"{url.raw_user}:{url.raw_password}")
