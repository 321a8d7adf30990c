"""The report channels of the service: a new channel is one module (see service.reports.channels)
and one line here. The taxonomy's channel codes, the report data classes and their holdings
derive from this list."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from service.reports import field, pharmacy
from service.reports.channels import ReportChannel
from service.sms import channel as sms

CHANNELS: Mapping[str, ReportChannel] = MappingProxyType({
    channel.name: channel
    for channel in (
        pharmacy.CHANNEL,
        field.CHANNEL,
        sms.CHANNEL,
    )
})
