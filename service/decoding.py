"""Decoding JSON bodies with msgspec, with errors that never repeat the caller's content.

What request parsing (service.bodies, Flask) and intake (service.reports.services, no Flask) share:
decoders cached per type, field errors that name the field and the rule but never the value, and
where invalid UTF-8 sits in an object. Nothing here knows about HTTP.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_FIELD = re.compile(r"field `(?P<name>[^`]*)`")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
INVALID_TEXT = "Not valid UTF-8 text."

_decoders: dict[type, msgspec.json.Decoder[Any]] = {}


def _decoder(kind: type[T]) -> msgspec.json.Decoder[T]:
    if kind not in _decoders:
        _decoders[kind] = msgspec.json.Decoder(kind)
    return _decoders[kind]


def _safe_name(name: str) -> str:
    # A field name is the caller's text too: name it only when it looks like an identifier.
    return name if _NAME.fullmatch(name) else "(unnamed)"


def _safe_path(path: str) -> str:
    if not path:
        return "_schema"
    return ".".join(part if part.isdigit() else _safe_name(part) for part in path.split("."))


def field_errors(error: msgspec.ValidationError) -> dict[str, list[str]]:
    """`{"field.path": ["message"]}` from a msgspec error, with no value of the caller's in it."""
    text = str(error)
    path = ""
    match = _AT.search(text)
    if match:
        path = match["path"]
        text = text[: match.start()]
    named = _FIELD.search(text)
    if named and text.startswith(("Object missing required field", "Object contains unknown field")):
        path = f"{path}.{named['name']}"
        text = "Unknown field." if "unknown" in text else "Missing data for required field."
    else:
        # msgspec quotes the offending value in a few messages ("Invalid enum value 'x'"); the
        # value is the caller's text, so everything from the first quote on goes.
        text = re.split("['\"]", text, maxsplit=1)[0].strip()
        if not text.endswith("."):
            text += "."
    return {_safe_path(path.lstrip(".").replace("[", ".").replace("]", "")): [text]}


def decode_raw(data: bytes, kind: type[T]) -> T:
    """Decode a body already read; msgspec errors propagate to the caller."""
    return _decoder(kind).decode(data)


def text_errors(data: bytes) -> dict[str, list[str]]:
    """Field errors of a JSON object with invalid UTF-8 in it: the member that holds it."""
    try:
        members = decode_raw(data, dict[str, msgspec.Raw])
    except (msgspec.DecodeError, UnicodeDecodeError):  # in a member's name, or not an object
        return {"_schema": [INVALID_TEXT]}
    for name, value in members.items():
        try:
            decode_raw(value, Any)  # type: ignore[arg-type]
        except (msgspec.DecodeError, UnicodeDecodeError):
            return {_safe_name(name): [INVALID_TEXT]}
    return {"_schema": [INVALID_TEXT]}


def well_formed(data: bytes) -> bool:
    try:
        decode_raw(data, msgspec.Raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return False
    return True
