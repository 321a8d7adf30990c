"""The coordinator's forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError


def plain_text(form: object, field: object) -> None:
    """No control or format characters (a NUL PostgreSQL refuses, a line break, a bidi override that
    would show a label back to front): a name or a label is one line of visible text."""
    value = getattr(field, "data", None) or ""
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs") for char in value):
        raise ValidationError(_l("Use letters, digits, spaces and punctuation only."))


class CodeForm(FlaskForm):
    # The label names the device, never the person who carries it (the CLI's --label says so too).
    label = StringField(_l("Which device"), validators=[DataRequired(message=_l("Say which device the code is for.")),
                                                       Length(max=100, message=_l("At most 100 characters.")), plain_text],
                        render_kw={"autocomplete": "off", "maxlength": 100})


class ConfirmForm(FlaskForm):
    """A confirmation: only its CSRF token."""
