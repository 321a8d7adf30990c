"""Key-encryption keys (KEKs): they wrap data keys, and nothing else.

Callers depend on the :class:`KeyEncryptionKey` protocol only, so a cloud KMS
or Vault transit backend can be added beside :class:`LocalKek` without touching
them. A :class:`KekSet` holds the current KEK, which wraps every new data key,
and the previous ones, which are kept only until every data key has been
re-wrapped (``KeyRing.rewrap_all``).

LocalKek wrapped-key format (all lengths in bytes)::

    wrapped = version || nonce || sealed
    version  1   0x01
    nonce    12  fresh from os.urandom for every wrap
    sealed   48  AES-256-GCM of the 32-byte data key, then the 16-byte tag

The associated data is length_prefixed(b"safesignal/kek-wrap", version,
kek_id, context). The caller's context names the row the wrapped key belongs
to (data class, epoch, key id), so a wrapped key copied to another row, or
presented to another KEK, does not unwrap.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import NoReturn, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._encoding import length_prefixed
from ._opaque import Unpicklable
from .errors import CryptoError, KekError
from .secrets import SECRET_SIZE, decode_secret, load_secret, write_new_secret_file

__all__ = ["KekSet", "KeyEncryptionKey", "LocalKek"]

KEK_SIZE = SECRET_SIZE
_WRAP_VERSION = 1
_VERSION_BYTE = bytes([_WRAP_VERSION])
_NONCE_SIZE = 12
_TAG_SIZE = 16
_WRAP_AAD_DOMAIN = b"safesignal/kek-wrap"
_KEK_ID_DOMAIN = b"safesignal/kek-id/v1\x00"


class KeyEncryptionKey(Protocol):
    """Wraps and unwraps data keys; implemented locally or by a KMS."""

    @property
    def kek_id(self) -> str:
        """A stable, non-secret identifier stored beside every wrapped key."""
        ...

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        """Encrypt a data key, bound to context (the row it belongs to)."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Decrypt a wrapped data key; KekError if it does not open with context."""
        ...


class LocalKek(Unpicklable):
    """A KEK held in process memory: AES-256-GCM under a 32-byte key.

    The kek_id is "local:" followed by the first 8 bytes (hex) of
    SHA-256(b"safesignal/kek-id/v1\\x00" || material): it tells KEKs apart
    without revealing them, and the domain prefix keeps it unrelated to any
    other hash of the same key.
    """

    __slots__ = ("_kek_id", "_aead")

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes) or len(material) != KEK_SIZE:
            raise KekError(f"KEK material must be {KEK_SIZE} bytes")
        digest = hashlib.sha256(_KEK_ID_DOMAIN + material).digest()
        self._kek_id = "local:" + digest[:8].hex()
        self._aead = AESGCM(material)

    @classmethod
    def from_b64(cls, text: str) -> LocalKek:
        """Build a KEK from base64url text (e.g. an environment variable)."""
        try:
            material = decode_secret(text, KEK_SIZE)
        except ValueError as exc:
            raise KekError(f"KEK material: {exc}") from None
        return cls(material)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LocalKek:
        """Load a KEK from a file holding it base64url-encoded on one line."""
        try:
            material = load_secret(path)
        except CryptoError as exc:
            raise KekError(str(exc)) from None
        return cls(material)

    @classmethod
    def generate_file(cls, path: str | os.PathLike[str]) -> LocalKek:
        """Create a new KEK file (mode 0600, never overwriting) and return it.

        Raises FileExistsError if path already exists.
        """
        material = os.urandom(KEK_SIZE)
        write_new_secret_file(path, material)
        return cls(material)

    @property
    def kek_id(self) -> str:
        """"local:" + 16 hex digits identifying this KEK."""
        return self._kek_id

    def _aad(self, context: bytes) -> bytes:
        if not isinstance(context, bytes):
            raise TypeError("context must be bytes")
        return length_prefixed(
            _WRAP_AAD_DOMAIN, _VERSION_BYTE, self._kek_id.encode("ascii"), context
        )

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        """Encrypt a data key under this KEK, bound to context."""
        if not isinstance(plaintext_key, bytes):
            raise TypeError("plaintext_key must be bytes")
        nonce = os.urandom(_NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, plaintext_key, self._aad(context))
        return _VERSION_BYTE + nonce + sealed

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Decrypt a wrapped data key; KekError if it does not open with context."""
        aad = self._aad(context)
        if (
            not isinstance(wrapped, bytes)
            or len(wrapped) < 1 + _NONCE_SIZE + _TAG_SIZE
            or wrapped[0] != _WRAP_VERSION
        ):
            self._fail()
        try:
            return self._aead.decrypt(wrapped[1 : 1 + _NONCE_SIZE], wrapped[1 + _NONCE_SIZE :], aad)
        except InvalidTag:
            pass
        self._fail()

    def _fail(self) -> NoReturn:
        raise KekError(f"KEK {self._kek_id} cannot unwrap this key") from None

    def __repr__(self) -> str:
        return f"<LocalKek kek_id={self._kek_id}>"


class KekSet:
    """The current KEK plus previous ones still needed to unwrap older keys."""

    __slots__ = ("_current", "_by_id")

    def __init__(
        self, current: KeyEncryptionKey, previous: Iterable[KeyEncryptionKey] = ()
    ) -> None:
        by_id: dict[str, KeyEncryptionKey] = {}
        for kek in (current, *previous):
            # The id is derived from the material, so a repeated id is the
            # same key listed twice (e.g. current also kept in previous).
            by_id.setdefault(kek.kek_id, kek)
        self._current = current
        self._by_id = by_id

    @property
    def current(self) -> KeyEncryptionKey:
        """The KEK that wraps new data keys."""
        return self._current

    @property
    def kek_ids(self) -> frozenset[str]:
        """Ids of every KEK in the set (current and previous)."""
        return frozenset(self._by_id)

    def wrap(self, plaintext_key: bytes, context: bytes) -> tuple[str, bytes]:
        """Wrap under the current KEK; return (kek_id, wrapped) to store together."""
        return self._current.kek_id, self._current.wrap(plaintext_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        """Unwrap with the KEK named kek_id; KekError if it is not in the set."""
        kek = self._by_id.get(kek_id)
        if kek is None:
            raise KekError(f"unknown KEK id {kek_id!r}")
        return kek.unwrap(wrapped, context)

    def __repr__(self) -> str:
        previous = sorted(self._by_id.keys() - {self._current.kek_id})
        return f"<KekSet current={self._current.kek_id} previous={previous}>"
