"""The audit log's hash chain and its signed checkpoints.

Each entry commits to the one before it::

    hash(n) = SHA-256(length_prefixed(b"safesignal/audit-entry", 0x01, hash(n-1),
                                      seq (8 bytes big-endian), at, kind, actor, detail))

with hash(0) = 32 zero bytes, `at` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` and `detail` the entry's
canonical JSON (sorted keys, no spaces, ASCII). Changing, removing or reordering an entry breaks
every hash after it.

A checkpoint signs (seq, hash(seq), time) with an Ed25519 key::

    message = length_prefixed(b"safesignal/audit-checkpoint", 0x01, seq (8 bytes), hash, at)

A data-protection officer who keeps the checkpoints can later check, without trusting the
operator, that the log still contains exactly what it contained then: rewriting history would
need hashes that match checkpoints already in their hands.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._encoding import length_prefixed
from ._opaque import Unpicklable

__all__ = [
    "GENESIS", "CheckpointSigner", "canonical_json", "checkpoint_message", "entry_hash", "public_key_id", "timestamp",
    "verify_checkpoint",
]

GENESIS = bytes(32)
_ENTRY_DOMAIN = b"safesignal/audit-entry"
_CHECKPOINT_DOMAIN = b"safesignal/audit-checkpoint"
_VERSION = b"\x01"


def timestamp(at: dt.datetime) -> str:
    """The one text form of an entry's time: UTC, microseconds, 'Z'."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(detail: dict[str, Any]) -> str:
    """The canonical JSON text of an entry's detail."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def entry_hash(prev_hash: bytes, seq: int, at: dt.datetime, kind: str, actor: str, detail: str) -> bytes:
    """The hash of an entry, committing to the entry before it."""
    return hashlib.sha256(
        length_prefixed(
            _ENTRY_DOMAIN,
            _VERSION,
            prev_hash,
            seq.to_bytes(8, "big"),
            timestamp(at).encode("ascii"),
            kind.encode("utf-8"),
            actor.encode("utf-8"),
            detail.encode("utf-8"),
        )
    ).digest()


def checkpoint_message(seq: int, chain_hash: bytes, at: dt.datetime) -> bytes:
    """The bytes a checkpoint signature covers."""
    return length_prefixed(_CHECKPOINT_DOMAIN, _VERSION, seq.to_bytes(8, "big"), chain_hash, timestamp(at).encode("ascii"))


def public_key_id(public_key: bytes) -> str:
    """A short name for a raw Ed25519 public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:16]


class CheckpointSigner(Unpicklable):
    """An Ed25519 signing key for checkpoints (32-byte seed, as in a secret file)."""

    __slots__ = ("_key", "public_key", "key_id")

    def __init__(self, seed: bytes):
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = public_key_id(self.public_key)

    def __repr__(self) -> str:
        return f"CheckpointSigner(key_id={self.key_id!r})"

    def sign(self, seq: int, chain_hash: bytes, at: dt.datetime) -> bytes:
        return self._key.sign(checkpoint_message(seq, chain_hash, at))


def verify_checkpoint(public_key: bytes, seq: int, chain_hash: bytes, at: dt.datetime, signature: bytes) -> bool:
    """True if `signature` is the key's signature of this checkpoint."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, checkpoint_message(seq, chain_hash, at))
    except (InvalidSignature, ValueError):
        return False
    return True
