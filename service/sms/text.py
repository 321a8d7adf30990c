"""How many SMS segments a text needs, and in which encoding it travels.

An SMS carries 140 octets. A text is sent in the GSM 7-bit default alphabet (3GPP TS 23.038,
section 6.2.1) when every character is in its basic table or its extension table, else in UCS-2
(UTF-16 code units on the wire, whatever the standard's name says). A text that does not fit one
SMS is split into parts that each lose 6 octets to the concatenation header (UDH):

    encoding   one SMS           per part when split
    GSM-7      160 septets       153 septets
    UCS-2       70 code units     67 code units

An extension-table character is an escape (0x1B) plus its code, so it takes 2 septets; a character
outside the Basic Multilingual Plane (most emoji) is a surrogate pair, 2 UTF-16 code units. Phones and
gateways do not cut such a pair across two parts, so when a text is split the parts are filled
greedily without cutting one: a 2-septet character that would straddle the 153rd septet opens the
next part. This is what a deployment pays for, and what decides whether a reply fits ONE segment.

The table is written here from the specification rather than taken from the `gsm0338` package: it is
two short, frozen tables (the standard has not changed them since 1999), and this module only needs
membership and widths, not a codec. National language shift tables (TS 23.038 6.2.1.2.4, used in
Turkish, Portuguese and Indic networks) are not counted: Belgian networks do not use them, so a
text that would need one is counted as UCS-2, which errs on the side of more segments.
"""

from __future__ import annotations

__all__ = ["encoding", "segments"]

# The basic table, in code order 0x00-0x7F. 0x1B is the escape to the extension table, not a character;
# 0x09 is the capital C cedilla (a small c cedilla is not in the alphabet: "reçu" goes as UCS-2).
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ" "ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each costs the escape septet plus its own.
_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

_SINGLE = {GSM_7: 160, UCS_2: 70}
_PART = {GSM_7: 153, UCS_2: 67}


def encoding(text: str) -> str:
    """"GSM-7" when every character is in the GSM 03.38 basic or extension table, else "UCS-2"."""
    return GSM_7 if all(c in _BASIC or c in _EXTENSION for c in text) else UCS_2


def _widths(text: str, enc: str) -> list[int]:
    """Each character's size in the encoding's units (septets, or UTF-16 code units)."""
    if enc == GSM_7:
        return [2 if c in _EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def segments(text: str) -> int:
    """The number of SMS parts the text is sent in; an empty text is still one SMS."""
    enc = encoding(text)
    widths = _widths(text, enc)
    if sum(widths) <= _SINGLE[enc]:
        return 1
    limit = _PART[enc]
    parts, used = 1, 0
    for width in widths:
        if used + width > limit:
            parts, used = parts + 1, 0
        used += width
    return parts
