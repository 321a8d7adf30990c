"""Every stored table names its retention data class, so the retention policies can cover it."""

from __future__ import annotations

from database.base import Base
from service.vault.models import VaultBase
from service.reports.registry import CHANNELS


def test_every_model_names_its_data_class():
    for mapper in (*Base.registry.mappers, *VaultBase.registry.mappers):
        declared = getattr(mapper.class_, "__data_class__", None)
        assert declared, f"{mapper.class_.__name__} has no __data_class__"


def test_report_rows_carry_a_declared_data_class():
    from service.reports.models import Report

    assert {channel.data_class for channel in CHANNELS.values()} == set(Report.__data_class__)
