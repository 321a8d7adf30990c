"""Screening of free text for personal data before it is stored."""

from service.screening.personal_data import PersonalDataKind, ScreenResult, screen

__all__ = ["PersonalDataKind", "ScreenResult", "screen"]
