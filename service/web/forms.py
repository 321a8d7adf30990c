"""The shell's forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, ValidationError

from service.people.services import PASSWORD_MAX, PASSWORD_MIN


def plain_text(form: object, field: object) -> None:
    """No control or format characters (a NUL PostgreSQL refuses, a line break, a bidi override that
    would show a label back to front): a name or a label is one line of visible text."""
    value = getattr(field, "data", None) or ""
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs") for char in value):
        raise ValidationError(_l("Use letters, digits, spaces and punctuation only."))


class SignInForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)],
                       render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class _Unechoed(StringField):
    """A text field whose value is never written back into the page (a code typed)."""

    def _value(self) -> str:
        return ""


class CodeForm(FlaskForm):
    code = _Unechoed(_l("6-digit code from your authenticator app"), validators=[DataRequired(), Length(max=12)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"})


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("The same password again"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class LanguageForm(FlaskForm):
    # The header renders its own <select>; the field only checks the value.
    language = StringField(_l("Language"), validators=[DataRequired(), AnyOf(("nl", "fr", "de", "en"))])
    next = HiddenField()


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (sign out, a confirmation, buttons that post)."""
