"""Unambiguous byte encodings shared by the crypto modules (private)."""

from __future__ import annotations

_LENGTH_BYTES = 4
_MAX_FIELD = (1 << (8 * _LENGTH_BYTES)) - 1


def length_prefixed(*fields: bytes) -> bytes:
    """Concatenate fields, each preceded by its length as 4 big-endian bytes.

    Every field carries its length, so no two different field lists encode to
    the same bytes ("ab" + "c" differs from "a" + "bc").
    """
    parts = []
    for field in fields:
        if not isinstance(field, bytes):
            raise TypeError("fields must be bytes")
        if len(field) > _MAX_FIELD:
            raise ValueError("field too long")
        parts.append(len(field).to_bytes(_LENGTH_BYTES, "big"))
        parts.append(field)
    return b"".join(parts)
