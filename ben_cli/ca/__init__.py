"""bee-keeper: a local certificate authority for bee nodes (``ben ca``).

One concept per module, on :mod:`ben_cli.crypto`'s primitives and key files:

- :mod:`.jcs`: canonical JSON (RFC 8785), the one byte form a signed body may take.
- :mod:`.cert`: the ``ben-cert-v1`` format: parse, build, sign; the certificate id.
- :mod:`.verify`: trust bundles and the verifier, with every refusal and its reason.
- :mod:`.crl`: signed, sequence-numbered revocation lists, and the sequence a verifier has seen.
- :mod:`.store`: the CA's folder and its lock.
- :mod:`.audit`: the hash-chained, signed audit log (``ben key``'s tamper-evident streams).
- :mod:`.authority`: init, issue, revoke, publish, rotate, list.
- :mod:`.enrol`: single-use tokens and the requests a node sends.
- :mod:`.node`: the node's side: its keys, its certificate, renewal at two thirds of its life.
- :mod:`.serve`: the listening CA (HTTP) and its client, for enrolment and renewal without files.
- :mod:`.local`: what ``ben ca verify`` trusts by default on this machine.
"""
