"""The dashboard's forms: what a week shows (a GET form, no token: it changes nothing), and the
buttons that spend budget (POST, with their CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

GEO_LABELS = {"area": _l("Area"), "district": _l("District"), "municipality": _l("Municipality")}


class SpendForm(FlaskForm):
    """A button that opens weeks (charging the budget): only its CSRF token."""


class ViewForm(FlaskForm):
    """Which part of a week to show: a geographic level and a phenomenon or category."""

    class Meta:
        csrf = False  # a GET form that reads: nothing to forge

    geo = SelectField(_l("Geographic level"))
    show = SelectField(_l("Phenomenon or category"))
    place = SelectField(_l("Place"))

    def offer(self, geo_levels: tuple[str, ...], shows: list[SelectChoice], places: list[SelectChoice] | None = None) -> None:
        """Fill the choices (they depend on the deployment's taxonomy and the territory)."""
        self.geo.choices = [SelectChoice(level, GEO_LABELS[level]) for level in geo_levels]
        self.show.choices = shows
        if places is None:
            del self.place
        else:
            self.place.choices = places
