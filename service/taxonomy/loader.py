"""Reading and validating a taxonomy file.

The file is JSON (UTF-8)::

    {
      "version": "2026.1",
      "phenomena":      [{"code": "victimisation", "labels": {"nl": ..., "fr": ..., "en": ...}}, ...],
      "categories":     [{"code": "dv_mask19", "phenomenon": "victimisation",
                          "labels": {...}, "channels": ["pharmacy"]}, ...],
      "referral_kinds": [{"code": "caw", "labels": {...}}, ...]
    }

Validation is strict, because a deployment edits this file by hand and a typo must stop the service
at start-up rather than silently drop a category: unknown fields anywhere are refused, codes are
snake_case and unique within their list, labels need nl, fr and en (de is optional) and may not be
blank, phenomena are among the four of the prevention plans, every category names a declared
phenomenon and at least one known channel, without repeats.

The document served to the apps is a canonical re-encoding of the validated content (sorted keys,
no whitespace, channels sorted, lists in file order), so reformatting the file leaves the ETag alone
while any change of content, including order, changes it.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import msgspec

from .model import CHANNELS, PHENOMENA, Category, Taxonomy, TaxonomyError

DEFAULT_TAXONOMY = "default_taxonomy.json"

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$", max_length=64)]
# One line, no leading or trailing blanks.
Label = Annotated[str, msgspec.Meta(pattern=r"^\S(?:.*\S)?$", max_length=200)]
Version = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=32)]


class _Struct(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class _Labels(_Struct, omit_defaults=True):
    nl: Label
    fr: Label
    en: Label
    de: Label | None = None


class _Phenomenon(_Struct):
    code: Code
    labels: _Labels


class _Category(_Struct):
    code: Code
    phenomenon: Code
    labels: _Labels
    channels: Annotated[list[Code], msgspec.Meta(min_length=1)]


class _ReferralKind(_Struct):
    code: Code
    labels: _Labels


class _TaxonomyFile(_Struct):
    version: Version
    phenomena: Annotated[list[_Phenomenon], msgspec.Meta(min_length=1)]
    categories: Annotated[list[_Category], msgspec.Meta(min_length=1)]
    referral_kinds: list[_ReferralKind]


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate the taxonomy at `path`, or the shipped default when `path` is None."""
    if path is None:
        source = resources.files(__package__).joinpath(DEFAULT_TAXONOMY)
        name = f"default taxonomy {DEFAULT_TAXONOMY}"
    else:
        source = Path(path)
        name = f"taxonomy file {source}"
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise TaxonomyError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return parse_taxonomy(raw, name=name)


def parse_taxonomy(raw: bytes, *, name: str = "taxonomy") -> Taxonomy:
    """Validate the JSON bytes of a taxonomy file and build the Taxonomy."""
    try:
        parsed = msgspec.json.decode(raw, type=_TaxonomyFile)
    except msgspec.DecodeError as exc:
        raise TaxonomyError(f"invalid {name}: {exc}") from exc
    _check_consistency(parsed, name)

    phenomena = {p.code: _labels(p.labels) for p in parsed.phenomena}
    categories = {
        c.code: Category(
            code=c.code,
            phenomenon=c.phenomenon,
            labels=_labels(c.labels),
            channels=frozenset(c.channels),
        )
        for c in parsed.categories
    }
    referral_kinds = {r.code: _labels(r.labels) for r in parsed.referral_kinds}
    document = canonical_document(parsed)
    return Taxonomy(
        version=parsed.version,
        phenomena=MappingProxyType(phenomena),
        categories=MappingProxyType(categories),
        referral_kinds=MappingProxyType(referral_kinds),
        document=document,
        etag=strong_etag(document),
    )


def canonical_document(parsed: _TaxonomyFile) -> bytes:
    """The compact, key-sorted JSON form of a validated taxonomy, as served to the apps."""
    normalised = msgspec.structs.replace(
        parsed,
        categories=[
            msgspec.structs.replace(c, channels=sorted(c.channels)) for c in parsed.categories
        ],
    )
    return msgspec.json.encode(normalised, order="sorted")


def strong_etag(document: bytes) -> str:
    """A strong ETag for `document`: its SHA-256 in hex, quoted as RFC 9110 requires."""
    return '"' + hashlib.sha256(document).hexdigest() + '"'


def _check_consistency(parsed: _TaxonomyFile, name: str) -> None:
    """Checks a schema cannot express: uniqueness, the fixed vocabularies, references."""
    _unique("phenomenon code", [p.code for p in parsed.phenomena], "$.phenomena", name)
    _unique("category code", [c.code for c in parsed.categories], "$.categories", name)
    _unique("referral kind code", [r.code for r in parsed.referral_kinds], "$.referral_kinds", name)
    for index, phenomenon in enumerate(parsed.phenomena):
        if phenomenon.code not in PHENOMENA:
            raise TaxonomyError(
                f"invalid {name}: unknown phenomenon {phenomenon.code!r}, expected one of "
                f"{', '.join(PHENOMENA)} - at `$.phenomena[{index}].code`"
            )
    declared = [p.code for p in parsed.phenomena]
    for index, category in enumerate(parsed.categories):
        where = f"$.categories[{index}]"
        if category.phenomenon not in declared:
            raise TaxonomyError(
                f"invalid {name}: category {category.code!r} has unknown phenomenon "
                f"{category.phenomenon!r}, expected one of {', '.join(declared)} "
                f"- at `{where}.phenomenon`"
            )
        for position, channel in enumerate(category.channels):
            if channel not in CHANNELS:
                raise TaxonomyError(
                    f"invalid {name}: category {category.code!r} has unknown channel "
                    f"{channel!r}, expected one of {', '.join(sorted(CHANNELS))} "
                    f"- at `{where}.channels[{position}]`"
                )
        _unique("channel", category.channels, f"{where}.channels", name)


def _unique(kind: str, codes: list[str], where: str, name: str) -> None:
    seen: set[str] = set()
    for index, code in enumerate(codes):
        if code in seen:
            raise TaxonomyError(f"invalid {name}: duplicate {kind} {code!r} - at `{where}[{index}]`")
        seen.add(code)


def _labels(labels: _Labels) -> MappingProxyType[str, str]:
    return MappingProxyType(
        {lang: text for lang, text in msgspec.structs.asdict(labels).items() if text is not None}
    )
