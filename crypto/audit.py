"""The audit log's hash chain, its MACs and its signed checkpoints.

This docstring is the whole format: an independent verifier needs nothing else.

Encoding. ``length_prefixed(f1, f2, ...)`` is the concatenation, for each field in order, of the
field's length in bytes as 4 bytes big-endian, then the field's bytes. Text fields are UTF-8;
``seq`` is 8 bytes big-endian; hashes are 32 raw bytes. ``at`` is the time in UTC as exactly
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (six fraction digits, a literal ``Z``, never ``+00:00``): the API
and ``safesignal audit checkpoints`` serve every time in that form, so it can be hashed as served.

Each entry commits to the one before it::

    hash(n) = SHA-256(length_prefixed(b"safesignal/audit-entry", 0x01, hash(n-1),
                                      seq (8 bytes big-endian), at, kind, actor, detail))

with hash(0) = 32 zero bytes (or, in a pruned log, the stored hash of the entry before the first
one kept), and `detail` the entry's canonical JSON (sorted keys, no spaces, ASCII) exactly as
served. Changing, removing or reordering an entry breaks every hash after it.

A checkpoint signs (seq, hash(seq), time) with an Ed25519 key (RFC 8032)::

    message = length_prefixed(b"safesignal/audit-checkpoint", 0x01, seq (8 bytes), hash(seq), at)

A data-protection officer who keeps the checkpoints can later check, without trusting the
operator, that the log still contains exactly what it contained then: rewriting history would
need hashes that match checkpoints already in their hands.

The hash has no key, so anyone who can write the database could append or re-hash entries.
Each entry therefore also carries a MAC under a secret key (SAFESIGNAL_AUDIT_MAC_KEY) that every
writer holds and the database does not::

    mac(n) = HMAC-SHA256(mac_key, length_prefixed(b"safesignal/audit-entry-mac", 0x01, hash(n)))

and the chain's head (its last entry, where the pruned log starts, the first entry that must
carry a MAC, and the highest entry ever signed in a checkpoint) carries one too::

    head_mac = HMAC-SHA256(mac_key, length_prefixed(b"safesignal/audit-head", 0x01, seq (8 bytes),
                           hash(seq), base_seq (8 bytes), base_hash, mac_from (8 bytes),
                           checkpointed (8 bytes)))

Only the service (which holds the key) can check MACs; the DPO checks hashes and signatures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._encoding import length_prefixed
from ._opaque import Unpicklable

__all__ = [
    "GENESIS", "CheckpointSigner", "EntryAuthenticator", "canonical_json", "checkpoint_message", "entry_hash", "public_key_id", "timestamp",
    "verify_checkpoint",
]

GENESIS = bytes(32)
_ENTRY_DOMAIN = b"safesignal/audit-entry"
_CHECKPOINT_DOMAIN = b"safesignal/audit-checkpoint"
_ENTRY_MAC_DOMAIN = b"safesignal/audit-entry-mac"
_HEAD_MAC_DOMAIN = b"safesignal/audit-head"
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


class EntryAuthenticator(Unpicklable):
    """The HMAC-SHA256 key that authenticates audit entries and the chain's head."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes):
        if not isinstance(key, bytes) or len(key) != 32:
            raise ValueError("an audit MAC key is 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "EntryAuthenticator()"

    def entry_mac(self, chain_hash: bytes) -> bytes:
        """The MAC of an entry, over its hash (which commits to everything else)."""
        return hmac.new(self._key, length_prefixed(_ENTRY_MAC_DOMAIN, _VERSION, chain_hash), hashlib.sha256).digest()

    def head_mac(self, seq: int, chain_hash: bytes, base_seq: int, base_hash: bytes, mac_from: int, checkpointed: int) -> bytes:
        """The MAC of the chain's head row."""
        message = length_prefixed(
            _HEAD_MAC_DOMAIN, _VERSION, seq.to_bytes(8, "big"), chain_hash, base_seq.to_bytes(8, "big"), base_hash,
            mac_from.to_bytes(8, "big"), checkpointed.to_bytes(8, "big"),
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def entry_ok(self, chain_hash: bytes, mac: bytes | None) -> bool:
        """True if `mac` is this key's MAC of the entry (compared in constant time)."""
        return mac is not None and hmac.compare_digest(self.entry_mac(chain_hash), bytes(mac))

    def head_ok(self, seq: int, chain_hash: bytes, base_seq: int, base_hash: bytes, mac_from: int, checkpointed: int,
                mac: bytes | None) -> bool:
        """True if `mac` is this key's MAC of the head row (compared in constant time)."""
        expected = self.head_mac(seq, chain_hash, base_seq, base_hash, mac_from, checkpointed)
        return mac is not None and hmac.compare_digest(expected, bytes(mac))
