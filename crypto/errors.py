"""Exceptions raised by the crypto package.

Callers decide what to do by the class they catch: a ``DecryptionError`` means
"this ciphertext cannot be read" (treat it like a missing row), a
``KeyDestroyedError`` means "this epoch has been shredded, refuse the write",
and a ``KekError`` means "the key-encryption keys are misconfigured" (an
operator problem; the process should not serve).
"""

from __future__ import annotations

__all__ = ["CryptoError", "DecryptionError", "KeyDestroyedError", "KekError"]


class CryptoError(Exception):
    """Base class of every error raised by the crypto package."""


class DecryptionError(CryptoError):
    """A ciphertext could not be decrypted, whatever the reason.

    Bad tag, wrong associated data, truncation, unknown or destroyed key and
    unknown version all raise this one error with one fixed message, so that
    neither the message nor the exception chain tells an attacker which check
    failed. Raise it ``from None`` and never put input bytes into it.
    """

    MESSAGE = "Decryption failed."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class KeyDestroyedError(CryptoError):
    """Asked to encrypt under an epoch whose data key has been destroyed."""


class KekError(CryptoError):
    """Key-encryption key material is bad or missing, or cannot unwrap a key.

    Messages name the KEK id (or a file path), never key material.
    """
