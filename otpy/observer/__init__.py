"""otpy.observer: look inside a running system, as Erlang's observer does.

:func:`snapshot` returns every process and supervision tree of the event loop as plain frozen
dataclasses, for any tool. :class:`Observer` is a child to put in a tree: it serves a live web
page of the trees (aiohttp's web server), pushed over a websocket, with actions (kill a process,
restart or terminate a child, close or reconnect a websocket client)::

    otpy.run([otpy.observer.Observer.child_spec(port=8040), MyApp], strategy="one_for_one")

It listens on 127.0.0.1 unless told otherwise; bound anywhere else, every request needs its
token, and actions always do. Only this package of otpy imports aiohttp.
"""

from otpy.observer.server import ACTIONS, Observer, ObserverOptions, observer_url
from otpy.observer.snapshot import (
    ChildSnapshot,
    ProcessSnapshot,
    Snapshot,
    SupervisorSnapshot,
    snapshot,
)

__all__ = [
    "ACTIONS",
    "ChildSnapshot",
    "Observer",
    "ObserverOptions",
    "ProcessSnapshot",
    "Snapshot",
    "SupervisorSnapshot",
    "observer_url",
    "snapshot",
]
