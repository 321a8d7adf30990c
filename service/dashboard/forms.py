"""The dashboard's forms: what a week shows (a GET form, no token: it changes nothing), and the
buttons that spend budget (POST, with their CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

GEO_LABELS = {"area": _l("Area"), "district": _l("District"), "municipality": _l("Municipality")}
TAXONOMY_LABELS = {"category": _l("Categories"), "phenomenon": _l("Phenomena")}


class SpendForm(FlaskForm):
    """A button that opens weeks (charging the budget): only its CSRF token."""


class ViewForm(FlaskForm):
    """Which part of a week to show: a geographic level and a phenomenon or category."""

    class Meta:
        csrf = False  # a GET form that reads: nothing to forge

    geo = SelectField(_l("Geographic level"))
    show = SelectField(_l("Phenomenon or category"))
    taxonomy = SelectField(_l("Taxonomy level"))
    place = SelectField(_l("Place"))

    def offer(self, choices: dict[str, list[SelectChoice]]) -> None:
        """Keep the fields named in `choices`, with those choices (they depend on the deployment's
        taxonomy and the territory); drop the others."""
        for name in ("geo", "show", "taxonomy", "place"):
            if name in choices:
                self[name].choices = choices[name]
            else:
                delattr(self, name)


def geo_choices(levels: tuple[str, ...]) -> list[SelectChoice]:
    return [SelectChoice(level, GEO_LABELS[level]) for level in levels]


def taxonomy_choices() -> list[SelectChoice]:
    return [SelectChoice(level, label) for level, label in TAXONOMY_LABELS.items()]
