"""ben's crypto core: signing, sealing and hashing in formats other tools already read.

Everything here stands on PyNaCl (libsodium) and the standard library; nothing below them is
written by hand. The formats are other projects' (minisign signatures and keys, age encryption
and identities), so a file ben writes can be checked or opened without ben:

- :mod:`.primitives`: thin, strict wrappers over libsodium (Ed25519, X25519, ChaCha20-Poly1305),
  BLAKE2b hashing and MACs, HKDF-SHA256, constant-time comparison, and the errors they raise.
- :mod:`.keys`: key pairs, key ids and fingerprints.
- :mod:`.keyfiles`: key files on disk (minisign and age formats, 0600, passphrase protection).
- :mod:`.minisign`: detached file signatures in minisign's format.
- :mod:`.age`: encryption to X25519 recipients (and passphrases) in the age v1 format.
- :mod:`.chain`: tamper-evident NDJSON streams: a hash chain with signed checkpoints. Its stage
  cores, :class:`StreamSigner` and :class:`StreamVerifier`, are what ``ben key sign --stream`` and
  ``verify --stream`` run (:func:`sign_stream`, :func:`verify_stream`) and what other stages compose.
- :mod:`.files`: what ``ben key`` does with named files: sign, verify, seal, open.

Every error here is a :class:`~ben_cli.errors.BenError`: :class:`CryptoError` and its kinds exit 1,
a request the library cannot work with (no recipient, no files named) is a ``UsageError`` (exit 2).
"""

from ben_cli.crypto.chain import ChainError, StreamSigner, StreamVerifier, sign_stream, verify_stream
from ben_cli.crypto.primitives import CryptoError

__all__ = ["ChainError", "CryptoError", "StreamSigner", "StreamVerifier", "sign_stream", "verify_stream"]
