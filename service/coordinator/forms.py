"""The coordinator's forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from service.web.forms import plain_text


class CodeForm(FlaskForm):
    # The label names the device, never the person who carries it (the CLI's --label says so too).
    label = StringField(_l("Which device"), validators=[DataRequired(message=_l("Say which device the code is for.")),
                                                       Length(max=100, message=_l("At most 100 characters.")), plain_text],
                        render_kw={"autocomplete": "off", "maxlength": 100})
