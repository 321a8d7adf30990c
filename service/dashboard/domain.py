"""The dashboard domain: pages for prevention-service analysts over the signals' releases.

It builds the territory's outlines (service.dashboard.maps) from the same area file and mode as
the intake; they are drawn on first use, not at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain import Domain


def build(config: Mapping[str, Any], state: Any) -> Any:
    from service.dashboard.maps import AreaMaps

    return AreaMaps(config["AREAS_MODE"], config["AREAS_FILE"], state.areas.areas())


DOMAIN = Domain("dashboard", build=build, provides="area_maps", pages="service.dashboard.views:blp")
