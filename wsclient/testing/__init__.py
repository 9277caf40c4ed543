"""Testing websocket clients: a controllable server, a ticker feed, and the ``ws_server`` fixture.

``wsclient.testing.Server`` is the server wsclient's own tests use; ``FeedServer`` is one that
streams numbered ticks (``wsclient serve --mode feed`` and ``wsclient demo`` run it). The pytest
plugin (loaded automatically when wsclient is installed) gives each test a started ``Server`` as
``ws_server``. See ``docs/howto/testing-your-client.md``.
"""

from wsclient.testing.feed import FeedServer, Subscription
from wsclient.testing.server import Server

__all__ = ["FeedServer", "Server", "Subscription"]
