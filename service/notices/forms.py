"""The notices page's form (Flask-WTF: it carries its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from service.web.forms import plain_text

MEDIUM_LABELS = {"sms": _l("By SMS"), "email": _l("By e-mail")}


class SubscribeForm(FlaskForm):
    medium = RadioField(_l("How"), validators=[DataRequired(message=_l("Choose SMS or e-mail."))])
    contact = StringField(_l("Mobile number or e-mail address"),
                          validators=[DataRequired(message=_l("Give a mobile number or an e-mail address.")),
                                      Length(max=320, message=_l("At most 320 characters.")), plain_text],
                          render_kw={"autocomplete": "off", "maxlength": 320, "spellcheck": "false", "autocapitalize": "none"})

    def forget_contact(self) -> None:
        """Never show the number or address back, not even on a form with an error."""
        self.contact.data = ""
        self.contact.raw_data = []
