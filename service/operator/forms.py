"""The operator's forms (Flask-WTF: each carries its CSRF token).

Choices (areas, municipalities, organisations) are the deployment's and the database's, so the
views fill them in; the fields do not check them (validate_choice=False) because the views check
them with the messages the CLI gives, translated.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length

from service.partners.services import OrganisationKind
from service.web.forms import plain_text

KIND_NAMES = {
    OrganisationKind.PHARMACY: _l("Pharmacy"),
    OrganisationKind.FIELD_SERVICE: _l("Field service"),
    OrganisationKind.PREVENTION_SERVICE: _l("Prevention service"),
    OrganisationKind.DPO_OFFICE: _l("Data-protection office"),
    OrganisationKind.OPERATOR: _l("Operator"),
}

_LABEL_HINT = {"autocomplete": "off", "maxlength": 100}


def _label(default: str | None = None) -> StringField:
    return StringField(_l("Token label"), default=default,
                       validators=[DataRequired(message=_l("Give the token a label.")),
                                   Length(max=100, message=_l("At most 100 characters.")), plain_text],
                       render_kw=_LABEL_HINT)


class OrganisationForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(kind.value, KIND_NAMES[kind]) for kind in OrganisationKind],
                       validate_choice=False,
                       validators=[AnyOf([kind.value for kind in OrganisationKind], message=_l("Choose a kind."))])
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Give the organisation's name.")),
                                               Length(max=200, message=_l("At most 200 characters.")), plain_text],
                       render_kw={"autocomplete": "off", "maxlength": 200})
    area = SelectField(_l("Registered area (pharmacies)"), validate_choice=False)
    municipalities = SelectMultipleField(_l("Territory (prevention services)"), validate_choice=False)
    label = _label("default")


class TokenForm(FlaskForm):
    label = _label()


class TerritoryForm(FlaskForm):
    municipalities = SelectMultipleField(_l("Municipalities it may see"), validate_choice=False)


class InviteForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), validate_choice=False,
                               validators=[DataRequired(message=_l("Choose the person's organisation."))])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(message=_l("Give the person's e-mail address.")),
                                                         Length(max=320, message=_l("This address is too long.")), plain_text],
                       render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})
