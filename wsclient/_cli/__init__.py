"""The ``wsclient`` command line: ``connect``, ``serve`` and ``demo``.

Private: the commands are the interface, not these modules. They use rich for the terminal;
``import wsclient`` never imports this package.
"""

from wsclient._cli.main import main

__all__ = ["main"]
