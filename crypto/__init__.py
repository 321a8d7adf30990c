"""Envelope encryption, epoch key ring, key-encryption keys and pseudonyms.

Only this package touches AES-GCM and HMAC keys. See crypto.envelope for the
ciphertext format, crypto.keyring for epoch keys and crypto-shredding, and
crypto.kek for key-encryption keys and their rotation. crypto.exposure_export
(Exposure Notification key export files) is imported on its own, so that only
its users load protobuf.
"""

from .envelope import FORMAT_VERSION, DataKey, associated_data, decrypt, encrypt, key_id_of
from .errors import CryptoError, DecryptionError, ExportError, KekError, KeyDestroyedError, SigningKeyError
from .kek import KekSet, KeyEncryptionKey, LocalKek
from .keyring import KeyRing, KeyStore, WrappedKey
from .pseudonym import Pseudonymizer
from .secrets import create_secret_file, load_secret

__all__ = [
    "FORMAT_VERSION",
    "CryptoError",
    "DataKey",
    "DecryptionError",
    "ExportError",
    "KekError",
    "KekSet",
    "KeyDestroyedError",
    "KeyEncryptionKey",
    "KeyRing",
    "KeyStore",
    "LocalKek",
    "Pseudonymizer",
    "SigningKeyError",
    "WrappedKey",
    "associated_data",
    "create_secret_file",
    "decrypt",
    "encrypt",
    "key_id_of",
    "load_secret",
]
