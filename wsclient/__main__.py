"""``python -m wsclient``: the same as the ``wsclient`` command."""

from wsclient._cli import main

main()
