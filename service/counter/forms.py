"""The counter's forms (Flask-WTF: each carries its CSRF token).

The report form's category is the button pressed (each category is a submit button named
"category"), so one click or one Enter sends a report; the other fields are optional.

The code form sends its code by SMS when its second button is pressed: the same fields and a
mobile number, which the template writes as an empty input every time (never `form.phone()`), so
a number typed is never written back into a page, not even beside its error.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Optional, Regexp

# What the idempotency key of the API accepts (service.reports.schemas.ClientId).
CLIENT_ID = r"^[A-Za-z0-9_-]{8,64}$"


class ReportForm(FlaskForm):
    # A fresh random id per form shown: a double click or a resent form stores one report (the
    # API's client_id idempotency), never two.
    client_id = HiddenField(validators=[InputRequired(), Regexp(CLIENT_ID)])
    category = StringField(validators=[InputRequired(message=_l("Choose a category."))])
    referral = StringField(_l("Referral"), validators=[Optional(), Length(max=64)])
    note = TextAreaField(_l("Short note"), validators=[Optional()],
                         render_kw={"autocomplete": "off", "spellcheck": "false", "rows": 3})
    observed_time = TimeField(_l("Observed earlier today at"), validators=[Optional()],
                              render_kw={"autocomplete": "off"})


ONSET_KINDS = (
    SelectChoice("test", _l("Date of the positive test")),
    SelectChoice("symptoms", _l("Date the symptoms began")),
)


class CodeForm(FlaskForm):
    nonce = HiddenField()
    kind = RadioField(_l("Which date do you enter?"), choices=ONSET_KINDS, default="test",
                      validators=[InputRequired(), AnyOf(("test", "symptoms"))])
    day = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter a date."))],
                    render_kw={"autocomplete": "off"})


# The languages a code's text is written in (service.tracing.sms_text), named in their own language.
TEXT_LANGUAGES = (("nl", "Nederlands"), ("fr", "Français"), ("de", "Deutsch"), ("en", "English"))


class SmsCodeForm(CodeForm):
    phone = StringField(_l("Mobile number"),
                        validators=[InputRequired(message=_l("Enter the mobile number of the person who tested positive."))])
    text_language = SelectField(_l("Language of the text"),
                                choices=[SelectChoice(code, name) for code, name in TEXT_LANGUAGES],
                                validators=[AnyOf(tuple(code for code, _ in TEXT_LANGUAGES))])
