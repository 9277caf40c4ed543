"""wsclient: supervised, reconnecting websocket clients on otpy (a port of MintWebsocketClient).

Not built yet: this package is a placeholder until the websocket client issue lands.
"""

__all__: list[str] = []
