"""bee: the bridge that carries records between hosts (``ben bee``), wire protocol ``ben-bee/1``.

One concept per module, on :mod:`ben_cli.ca` (certificates) and :mod:`ben_cli.crypto` (PyNaCl):

- :mod:`.noise`: the Noise XX state machine (25519, ChaChaPoly, BLAKE2b) and the rekey rule.
- :mod:`.framing`: 2-byte big-endian length-prefixed messages on a socket.
- :mod:`.frames`: HELLO, DATA, ACK, CLOSE, ERROR.
- :mod:`.handshake`: the handshake with certificates in messages 2 and 3, and the peer checks.
- :mod:`.address`: HOST:PORT, :PORT and unix:PATH.
- :mod:`.listener`: many senders, high-water marks per (static key, stream), ``--state``.
- :mod:`.window`: the sender's unacknowledged records, in memory or a ``--spool``.
- :mod:`.sender`: stdin to the listener, reconnecting with backoff, resuming from the ACK.
- :mod:`.service`: the two commands as two calls (credentials, sockets, signals).
"""
