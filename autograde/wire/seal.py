"""The sealed call watch's wire format: what the sandbox signs and the judge checks.

The sandbox's audit hook (:mod:`autograde.sandbox.guard`) signs its findings for one watched
call with :func:`sign`; the judge (:mod:`autograde.judge.checks`) recomputes the signature from
the reply it received, with the same key. Both sides use these pure functions, so the message
they sign is one format in one place.

:mod:`autograde.sandbox.guard` runs private copies of them (its own globals, taken before any
learner code runs): keep them pure, reading no global but each other, ``_hashlib.hmac_digest``
and the builtins, so those copies need nothing else.
"""

from __future__ import annotations

import _hashlib
import hashlib
import json

UNSEALED = "the grader's call watcher (its report was missing or forged)"


def canonical(spec) -> str:
    """One string for a watch's targets (``[[target, name, paths], ...]`` per block)."""
    return "\x1e".join("\x1d".join("\x1f".join([t, n, *p]) for t, n, p in block) for block in spec)


def sealed_message(nonce: str, spec, hits, digest: bytes) -> bytes:
    """What the HMAC covers: the call, its targets, the findings and the reply."""
    found = "\x1e".join("\x1f".join(h) for h in hits)
    return "\x1c".join([nonce, canonical(spec), found, digest.hex()]).encode()


def sign(key: bytes, nonce: str, spec, hits, digest: bytes) -> str:
    """The HMAC-SHA256 of :func:`sealed_message`, hex."""
    return _hashlib.hmac_digest(key, sealed_message(nonce, spec, hits, digest), "sha256").hex()


def digest(fields: dict | None, blobs: list) -> bytes:
    """SHA-256 of a reply's value and written-back arguments (None: the call raised)."""
    h = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())
    for blob in blobs:
        h.update(len(blob).to_bytes(8, "big"))
        h.update(blob)
    return h.digest()
