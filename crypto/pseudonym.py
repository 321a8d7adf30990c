"""Keyed pseudonyms for identifiers that must stay linkable but not readable.

    pseudonym = HMAC-SHA256(key, len(domain) || domain || value)

where len is 4 bytes big-endian, domain is UTF-8 and a str value is UTF-8.
The same value gives the same pseudonym within a domain (so reports from one
reporter can be linked) and unrelated pseudonyms across domains (so a
reporter pseudonym cannot be joined to a submission-id pseudonym). Without the
key, a pseudonym cannot be reversed by hashing guessed identifiers, which a
plain hash of a phone number or a short id would allow.
"""

from __future__ import annotations

import hmac

from ._encoding import length_prefixed
from ._opaque import Unpicklable

__all__ = ["Pseudonymizer"]

MIN_KEY_SIZE = 32
PSEUDONYM_SIZE = 32
# Domains are constants in the calling code; the cap only guards against a
# caller that builds domains from data.
_MAX_CACHED_DOMAINS = 64


class Pseudonymizer(Unpicklable):
    """Computes domain-separated HMAC-SHA256 pseudonyms under one secret key.

    The key schedule is computed once: each call copies a keyed HMAC state
    instead of hashing the key again. The repr shows no material, and
    pickling is refused.
    """

    __slots__ = ("_hmac", "_prefixes")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < MIN_KEY_SIZE:
            raise ValueError(f"pseudonym key must be at least {MIN_KEY_SIZE} bytes")
        self._hmac = hmac.new(key, digestmod="sha256")
        self._prefixes: dict[str, bytes] = {}

    def _prefix(self, domain: str) -> bytes:
        prefix = self._prefixes.get(domain)
        if prefix is None:
            if not isinstance(domain, str) or not domain:
                raise TypeError("domain must be a non-empty str")
            prefix = length_prefixed(domain.encode("utf-8"))
            if len(self._prefixes) < _MAX_CACHED_DOMAINS:
                self._prefixes[domain] = prefix
        return prefix

    def pseudonym(self, domain: str, value: str | bytes) -> bytes:
        """Return the 32-byte pseudonym of value within domain."""
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif not isinstance(value, bytes):
            raise TypeError("value must be str or bytes")
        mac = self._hmac.copy()
        mac.update(self._prefix(domain))
        mac.update(value)
        return mac.digest()

    def hexdigest(self, domain: str, value: str | bytes) -> str:
        """Return the pseudonym of value within domain as 64 hex digits."""
        return self.pseudonym(domain, value).hex()

    def __repr__(self) -> str:
        return "<Pseudonymizer>"
