"""Testing websocket clients: a controllable server, and the ``ws_server`` pytest fixture.

``wsclient.testing.Server`` is the server wsclient's own tests use; the pytest plugin (loaded
automatically when wsclient is installed) gives each test a started one as ``ws_server``.
See ``docs/howto/testing-your-client.md``.
"""

from wsclient.testing.server import Server

__all__ = ["Server"]
