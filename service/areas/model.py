"""What an area is, what a resolver offers, and the area list's download form."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec


# An area file that names no municipality is one municipality's territory; a deployment that serves
# one municipality needs nothing more than this code in its counts and exports.
DEFAULT_MUNICIPALITY = "territory"


class AreaError(Exception):
    """Areas cannot be loaded or used: a bad area file, an unknown mode, a bad resolution."""


class InvalidCoordinates(AreaError, ValueError):
    """A latitude or longitude outside its range (or not a number); the caller sent bad input.

    The message never repeats the coordinates: they are the one thing this service must not keep.
    """


@dataclass(frozen=True)
class Area:
    """An area reports are counted in. `district` groups areas, when known; `municipality` always."""

    code: str
    name: str
    district: str | None
    municipality: str


class AreaResolver(Protocol):
    """Maps a GPS position to an area code on intake; the position itself is never stored."""

    kind: str  # "h3" or "polygons"
    document: bytes  # canonical JSON list of the areas, for the apps' download
    etag: str  # strong ETag of `document`

    def resolve(self, lat: float, lon: float) -> str | None:
        """The code of the area holding (lat, lon), None outside the territory.

        Raises InvalidCoordinates (a ValueError) when lat is not within [-90, 90] or lon not within
        [-180, 180]: that is a client bug to report, not a place outside the territory.
        """
        ...

    def areas(self) -> Sequence[Area]:
        """Every area, ordered by code."""
        ...

    def __contains__(self, code: object) -> bool:
        """Whether `code` is one of the areas."""
        ...


def check_coordinates(lat: float, lon: float) -> None:
    """Raise InvalidCoordinates unless lat and lon are within range (NaN never is)."""
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise InvalidCoordinates("latitude must be within [-90, 90] and longitude within [-180, 180]")


def rollup(area: Area) -> tuple[str, str, str]:
    """The (area, district, municipality) codes `area` counts towards, for aggregation.

    An area without a district is a district of its own, so its district total equals its count:
    counting it under a shared "no district" key would add up unrelated areas, and dropping it would
    lose its reports from the district level while the municipality still counts them.
    """
    return area.code, area.code if area.district is None else area.district, area.municipality


def municipalities(areas: Sequence[Area]) -> list[str]:
    """The distinct municipality codes of `areas`, sorted."""
    return sorted({area.municipality for area in areas})


def area_document(areas: Sequence[Area]) -> tuple[bytes, str]:
    """The download form of `areas` and its strong ETag.

    A compact JSON array of {"code", "district", "municipality", "name"} objects (keys sorted,
    district null when unknown) in the order given, which callers keep sorted by code so the bytes
    depend on the content only. The ETag is the quoted hex SHA-256 of those bytes.
    """
    document = msgspec.json.encode(list(areas), order="sorted")
    return document, '"' + hashlib.sha256(document).hexdigest() + '"'
