"""Wire types of device enrollment."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class EnrollIn(msgspec.Struct, forbid_unknown_fields=True):
    """The one-time code a coordinator gave (`safesignal devices enroll-code`)."""

    code: Annotated[str, Meta(min_length=12, max_length=20, description="As printed, e.g. 7K3Q-M9XD-2FVA; case and dashes do not matter.")]


class EnrollOut(msgspec.Struct):
    """The device's credential: keep the token in the app's secure storage; it is shown once."""

    device_id: str
    token: str
    label: str


SCHEMAS = (EnrollIn, EnrollOut)
