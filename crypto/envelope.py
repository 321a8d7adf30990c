"""AES-256-GCM envelope with a versioned, self-describing ciphertext format.

Wire format (all lengths in bytes)::

    ciphertext = version || key_id || nonce || sealed
    version    1   0x01 (FORMAT_VERSION)
    key_id     16  id of the DataKey that sealed the payload
    nonce      12  fresh from os.urandom for every encryption; never caller-supplied
    sealed     16+ AES-GCM ciphertext followed by its 16-byte tag

The AEAD's associated data is ``header || caller_aad`` where
``header = version || key_id``, so the version and key id are authenticated as
well as the caller's associated data. Callers build ``caller_aad`` with
:func:`associated_data`, which binds a ciphertext to its table and row: a
ciphertext copied to another row does not decrypt.

A random 96-bit nonce per message keeps the nonce-collision probability below
2**-32 for up to 2**32 messages per key (NIST SP 800-38D, 8.3). Data keys are
per epoch (one data class, one day), so each key seals far fewer messages.

This module is the only place that touches AES-GCM for payloads. Every
decryption failure raises :class:`~crypto.errors.DecryptionError` with the same
message and no chained cause.
"""

from __future__ import annotations

import os
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._encoding import length_prefixed
from ._opaque import Unpicklable
from .errors import DecryptionError

__all__ = [
    "FORMAT_VERSION",
    "DataKey",
    "associated_data",
    "decrypt",
    "encrypt",
    "key_id_of",
]

FORMAT_VERSION = 1

KEY_ID_SIZE = 16
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16

_VERSION_BYTE = bytes([FORMAT_VERSION])
_HEADER_SIZE = 1 + KEY_ID_SIZE
_NONCE_END = _HEADER_SIZE + NONCE_SIZE
_MIN_SIZE = _NONCE_END + TAG_SIZE

_AAD_DOMAIN = b"safesignal"


def associated_data(table: str, record_id: bytes) -> bytes:
    """Return the associated data binding a ciphertext to one row of one table.

    Encoded as length-prefixed fields: b"safesignal", the format version, the
    UTF-8 table name and the record id.
    """
    if not isinstance(table, str) or not table:
        raise TypeError("table must be a non-empty str")
    if not isinstance(record_id, bytes) or not record_id:
        raise TypeError("record_id must be non-empty bytes")
    return length_prefixed(_AAD_DOMAIN, _VERSION_BYTE, table.encode("utf-8"), record_id)


class DataKey(Unpicklable):
    """A 256-bit AES-GCM data key and its 16-byte id.

    The material lives only inside the AESGCM object, which is built once per
    key because constructing it costs more than sealing a short payload. The
    repr shows the key id only, and pickling is refused so the key cannot be
    written to a cache, a queue or a log by accident.
    """

    __slots__ = ("_key_id", "_header", "_aead")

    def __init__(self, key_id: bytes, material: bytes) -> None:
        if not isinstance(key_id, bytes) or len(key_id) != KEY_ID_SIZE:
            raise ValueError(f"key_id must be {KEY_ID_SIZE} bytes")
        if not isinstance(material, bytes) or len(material) != KEY_SIZE:
            raise ValueError(f"key material must be {KEY_SIZE} bytes")
        self._key_id = key_id
        self._header = _VERSION_BYTE + key_id
        self._aead = AESGCM(material)

    @classmethod
    def generate(cls) -> DataKey:
        """Return a new key with a random id and random material."""
        return cls(os.urandom(KEY_ID_SIZE), os.urandom(KEY_SIZE))

    @property
    def key_id(self) -> bytes:
        """The 16-byte id written into every ciphertext sealed by this key."""
        return self._key_id

    def __repr__(self) -> str:
        return f"<DataKey key_id={self._key_id.hex()}>"


def encrypt(key: DataKey, plaintext: bytes, aad: bytes) -> bytes:
    """Seal plaintext under key with a fresh random nonce, bound to aad."""
    if not isinstance(aad, bytes):
        raise TypeError("aad must be bytes")
    header = key._header
    nonce = os.urandom(NONCE_SIZE)
    return b"".join((header, nonce, key._aead.encrypt(nonce, plaintext, header + aad)))


def _fail() -> NoReturn:
    raise DecryptionError() from None


def key_id_of(ciphertext: bytes) -> bytes:
    """Return the key id of a ciphertext, so the caller can look up its key."""
    if not isinstance(ciphertext, bytes):
        raise TypeError("ciphertext must be bytes")
    if len(ciphertext) < _MIN_SIZE or ciphertext[0] != FORMAT_VERSION:
        _fail()
    return ciphertext[1:_HEADER_SIZE]


def decrypt(key: DataKey, ciphertext: bytes, aad: bytes) -> bytes:
    """Open a ciphertext sealed by encrypt() with the same key and aad."""
    if not isinstance(ciphertext, bytes):
        raise TypeError("ciphertext must be bytes")
    if not isinstance(aad, bytes):
        raise TypeError("aad must be bytes")
    # Every length and the header are checked before any slice is used.
    if (
        len(ciphertext) < _MIN_SIZE
        or ciphertext[0] != FORMAT_VERSION
        or ciphertext[1:_HEADER_SIZE] != key._key_id
    ):
        _fail()
    try:
        return key._aead.decrypt(
            ciphertext[_HEADER_SIZE:_NONCE_END],
            ciphertext[_NONCE_END:],
            key._header + aad,
        )
    except InvalidTag:
        pass
    # Raised outside the except block so that no __context__ is attached.
    _fail()
