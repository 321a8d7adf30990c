"""Epoch data keys, stored only wrapped by a key-encryption key.

Each payload is sealed under the data key of its epoch: one data class (e.g.
"report") and one calendar day. Destroying an epoch's key ("crypto-shredding")
makes every payload of that class and day unreadable at once, wherever copies
of the ciphertext ended up.

The database holds each data key only as a :class:`WrappedKey`: sealed by the
current KEK, with the KEK's id beside it. The wrap is bound to the row by the
context::

    context = length_prefixed(b"safesignal/data-key", 0x01,
                              key_id, data_class (UTF-8), epoch (ISO 8601))

so a wrapped key copied to another row (another epoch, class or id) does not
unwrap. Rotating the KEK re-wraps data keys (:meth:`KeyRing.rewrap_all`) and
never re-encrypts payloads.

Unwrapped keys are cached in memory, bounded in number and, by default, in
age, so that a key destroyed by another process stops being usable here too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import envelope
from ._encoding import length_prefixed
from .envelope import KEY_ID_SIZE, KEY_SIZE, DataKey
from .errors import CryptoError, DecryptionError, KeyDestroyedError
from .kek import KekSet
from .pseudonym import Pseudonymizer

__all__ = ["KeyRing", "KeyStore", "WrappedKey"]

log = logging.getLogger(__name__)

_CONTEXT_DOMAIN = b"safesignal/data-key"
_CONTEXT_VERSION = b"\x01"
_EPOCH_PSEUDONYM_INFO = b"safesignal/epoch-pseudonym/v1"


@dataclass(frozen=True)
class WrappedKey:
    """A data key as stored: its id, epoch, and material wrapped by a KEK."""

    key_id: bytes
    data_class: str
    epoch: date
    kek_id: str
    wrapped: bytes = field(repr=False)
    destroyed: bool = False


class KeyStore(Protocol):
    """Persistence of wrapped data keys (SQLAlchemy in the service)."""

    def by_id(self, key_id: bytes) -> WrappedKey | None:
        """Return the key with this id (destroyed or not), or None."""
        ...

    def by_epoch(self, data_class: str, epoch: date) -> WrappedKey | None:
        """Return the key of this epoch (destroyed or not), or None."""
        ...

    def add(self, key: WrappedKey) -> WrappedKey:
        """Insert key if its epoch has none; return the epoch's stored key.

        Another process may have inserted one first: the stored key wins.
        """
        ...

    def all_wrapped(self) -> list[WrappedKey]:
        """Return every key that has not been destroyed."""
        ...

    def replace_wrapping(self, key_id: bytes, kek_id: str, wrapped: bytes) -> None:
        """Store a new wrapping (after KEK rotation) of an existing key."""
        ...


def wrap_context(key_id: bytes, data_class: str, epoch: date) -> bytes:
    """Return the KEK associated data that binds a wrapped key to its row."""
    return length_prefixed(
        _CONTEXT_DOMAIN,
        _CONTEXT_VERSION,
        key_id,
        data_class.encode("utf-8"),
        epoch.isoformat().encode("ascii"),
    )


def _check_epoch(data_class: str, epoch: date) -> None:
    if not isinstance(data_class, str) or not data_class:
        raise TypeError("data_class must be a non-empty str")
    # A datetime is a date too, but would give a different key per instant.
    if not isinstance(epoch, date) or isinstance(epoch, datetime):
        raise TypeError("epoch must be a datetime.date")


class _Entry(NamedTuple):
    key: DataKey
    epoch: tuple[str, date]
    loaded_at: float


class KeyRing:
    """Gets, creates and caches epoch data keys; encrypts and decrypts with them.

    Thread-safe. The store is passed to every call (it is bound to the
    caller's session); the ring keeps only the KEKs and a bounded cache.
    Cached keys are reloaded after max_age seconds (None: never), so a key
    destroyed by another process stops working here within max_age; the
    process that destroys a key calls :meth:`forget` at once.
    """

    def __init__(
        self,
        keks: KekSet,
        cache_size: int = 256,
        *,
        max_age: float | None = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._keks = keks
        self._cache_size = cache_size
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        # Least recently used first; _epochs indexes the same entries.
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._epochs: dict[tuple[str, date], bytes] = {}
        # (data class, epoch) -> (key id, pseudonymizer, loaded at): pseudonymizer_for_epoch.
        self._pseudonymizers: dict[tuple[str, date], tuple[bytes, Pseudonymizer, float]] = {}

    @property
    def keks(self) -> KekSet:
        """The KEK set that wraps new data keys."""
        return self._keks

    # -- cache -------------------------------------------------------------

    def _cached(self, key_id: bytes | None) -> DataKey | None:
        # Caller holds self._lock.
        entry = self._entries.get(key_id) if key_id is not None else None
        if entry is None:
            return None
        if self._max_age is not None and self._clock() - entry.loaded_at >= self._max_age:
            self._drop(key_id)
            return None
        self._entries.move_to_end(key_id)
        return entry.key

    def _drop(self, key_id: bytes) -> None:
        # Caller holds self._lock.
        entry = self._entries.pop(key_id, None)
        if entry is not None and self._epochs.get(entry.epoch) == key_id:
            del self._epochs[entry.epoch]

    def _remember(self, key: DataKey, data_class: str, epoch: date) -> None:
        with self._lock:
            self._drop(key.key_id)
            self._entries[key.key_id] = _Entry(key, (data_class, epoch), self._clock())
            self._epochs[(data_class, epoch)] = key.key_id
            while len(self._entries) > self._cache_size:
                self._drop(next(iter(self._entries)))

    def forget(self, key_id: bytes) -> None:
        """Drop a key from the cache (call it when the key is destroyed)."""
        with self._lock:
            self._drop(key_id)
            for epoch, cached in list(self._pseudonymizers.items()):
                if cached[0] == key_id:
                    del self._pseudonymizers[epoch]

    # -- keys --------------------------------------------------------------

    def _unwrap(self, key_id: bytes, data_class: str, epoch: date, stored: WrappedKey) -> DataKey:
        material = self._keks.unwrap(
            stored.kek_id, stored.wrapped, wrap_context(key_id, data_class, epoch)
        )
        return DataKey(key_id, material)

    def _new_wrapped(self, data_class: str, epoch: date) -> WrappedKey:
        key_id = os.urandom(KEY_ID_SIZE)
        material = os.urandom(KEY_SIZE)
        kek_id, wrapped = self._keks.wrap(material, wrap_context(key_id, data_class, epoch))
        return WrappedKey(key_id, data_class, epoch, kek_id, wrapped)

    def key_for_epoch(self, store: KeyStore, data_class: str, epoch: date) -> DataKey:
        """Return the epoch's data key, creating it if the epoch has none.

        Raises KeyDestroyedError if the epoch's key has been destroyed, and
        KekError if the configured KEKs cannot unwrap it.
        """
        _check_epoch(data_class, epoch)
        with self._lock:
            key = self._cached(self._epochs.get((data_class, epoch)))
        if key is not None:
            return key
        stored = self._live_for_epoch(store, data_class, epoch)
        # The context is built from the epoch asked for, not the row's fields,
        # so a row filed under the wrong epoch fails to unwrap.
        key = self._unwrap(stored.key_id, data_class, epoch, stored)
        self._remember(key, data_class, epoch)
        return key

    def _live_for_epoch(self, store: KeyStore, data_class: str, epoch: date) -> WrappedKey:
        # The store is read without holding the lock: two threads may both
        # create a key, and store.add keeps exactly one of them.
        stored = store.by_epoch(data_class, epoch)
        if stored is None:
            stored = store.add(self._new_wrapped(data_class, epoch))
        if stored.destroyed:
            raise KeyDestroyedError(
                f"the {data_class} key of {epoch.isoformat()} has been destroyed"
            )
        return stored

    def pseudonymizer_for_epoch(self, store: KeyStore, data_class: str, epoch: date) -> Pseudonymizer:
        """Pseudonyms that can be computed only while the epoch's data key lives.

        The HMAC key is derived from the epoch's data key with HKDF-SHA256
        (info "safesignal/epoch-pseudonym/v1"), never stored: once the epoch's
        key is destroyed, nobody (holding the database, the vault and every
        other key) can compute that epoch's pseudonym of a value again, so
        pseudonyms of one epoch cannot be linked to another's. Cached like
        data keys (same bound on age; :meth:`forget` drops it). Raises
        KeyDestroyedError once the key is destroyed.
        """
        _check_epoch(data_class, epoch)
        now = self._clock()
        with self._lock:
            if self._max_age is not None:
                # Not only refreshed when asked for: yesterday's, never asked for again, must not
                # stay in memory after its key is destroyed elsewhere.
                for stale in [k for k, v in self._pseudonymizers.items() if now - v[2] >= self._max_age]:
                    del self._pseudonymizers[stale]
            cached = self._pseudonymizers.get((data_class, epoch))
            if cached is not None:
                return cached[1]
        stored = self._live_for_epoch(store, data_class, epoch)
        material = self._keks.unwrap(stored.kek_id, stored.wrapped, wrap_context(stored.key_id, data_class, epoch))
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_EPOCH_PSEUDONYM_INFO).derive(material)
        pseudonymizer = Pseudonymizer(derived)
        with self._lock:
            self._pseudonymizers[(data_class, epoch)] = (stored.key_id, pseudonymizer, now)
            while len(self._pseudonymizers) > self._cache_size:
                del self._pseudonymizers[next(iter(self._pseudonymizers))]
        return pseudonymizer

    def key_by_id(self, store: KeyStore, key_id: bytes) -> DataKey:
        """Return the data key with this id; DecryptionError if unknown or destroyed.

        Raises KekError if the configured KEKs cannot unwrap it.
        """
        if not isinstance(key_id, bytes):
            raise TypeError("key_id must be bytes")
        with self._lock:
            key = self._cached(key_id)
        if key is not None:
            return key
        stored = store.by_id(key_id) if len(key_id) == KEY_ID_SIZE else None
        if stored is None or stored.destroyed:
            raise DecryptionError() from None
        key = self._unwrap(key_id, stored.data_class, stored.epoch, stored)
        self._remember(key, stored.data_class, stored.epoch)
        return key

    # -- payloads ----------------------------------------------------------

    def encrypt(
        self, store: KeyStore, data_class: str, epoch: date, plaintext: bytes, aad: bytes
    ) -> bytes:
        """Seal plaintext under the epoch's data key (see crypto.envelope)."""
        return envelope.encrypt(self.key_for_epoch(store, data_class, epoch), plaintext, aad)

    def decrypt(self, store: KeyStore, ciphertext: bytes, aad: bytes) -> bytes:
        """Open a ciphertext from encrypt(); any failure raises DecryptionError."""
        key_id = envelope.key_id_of(ciphertext)
        try:
            key = self.key_by_id(store, key_id)
        except CryptoError as exc:
            # A KEK that cannot unwrap is a configuration fault the operator
            # must see; the caller still only learns "Decryption failed.".
            if not isinstance(exc, DecryptionError):
                log.error("data key %s cannot be unwrapped: %s", key_id.hex(), exc)
            key = None
        if key is None:
            # Raised outside the except block so that no __context__ is kept.
            raise DecryptionError() from None
        return envelope.decrypt(key, ciphertext, aad)

    # -- rotation ----------------------------------------------------------

    def rewrap_all(self, store: KeyStore, new_keks: KekSet) -> int:
        """Re-wrap every live data key under new_keks.current; return how many.

        Payloads are not touched. Keys already wrapped by new_keks.current are
        skipped, so an interrupted run can simply be repeated. Afterwards this
        ring wraps new keys with new_keks. KekError if a key cannot be unwrapped
        by either set.
        """
        old_keks = self._keks
        target = new_keks.current.kek_id
        count = 0
        for stored in store.all_wrapped():
            if stored.destroyed or stored.kek_id == target:
                continue
            context = wrap_context(stored.key_id, stored.data_class, stored.epoch)
            source = new_keks if stored.kek_id in new_keks.kek_ids else old_keks
            material = source.unwrap(stored.kek_id, stored.wrapped, context)
            kek_id, wrapped = new_keks.wrap(material, context)
            store.replace_wrapping(stored.key_id, kek_id, wrapped)
            count += 1
        self._keks = new_keks
        return count
