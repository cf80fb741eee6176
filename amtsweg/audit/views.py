"""The audit log page for admins and auditors: filter by person, object, action and date."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Flask, abort, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, select
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from amtsweg.audit.models import AuditEntry
from amtsweg.clock import BERLIN
from amtsweg.extensions import db
from amtsweg.forms import GermanDateField
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import current_staff, guard_staff_blueprint
from amtsweg.staff.models import Role
from amtsweg.translate import lazy_gettext as _l

bp = Blueprint("audit", __name__, url_prefix="/intern/protokoll")

PAGE_SIZE = 50
READERS = (Role.ADMIN, Role.AUDITOR)


class AuditFilterForm(FlaskForm):  # type: ignore[misc]  # flask_wtf ships no type information
    class Meta:
        csrf = False  # a GET filter changes nothing

    actor = StringField(_l("Person"), description=_l("Name or username, or part of it."),
                        validators=[Optional(), Length(max=200, message=_l(
                            "Enter at most %(max)s characters.", max=200))])
    object_type = StringField(_l("Object type"), description=_l("For example staff or case."),
                              validators=[Optional(), Length(max=60, message=_l(
                                  "Enter at most %(max)s characters.", max=60))])
    object_id = StringField(_l("Object number"), validators=[Optional(), Length(
        max=80, message=_l("Enter at most %(max)s characters.", max=80))])
    action = StringField(_l("Action"), description=_l("For example staff.login."),
                         validators=[Optional(), Length(max=80, message=_l(
                             "Enter at most %(max)s characters.", max=80))])
    date_from = GermanDateField(_l("From"), description=_l("DD.MM.YYYY"),
                                validators=[Optional()])
    date_to = GermanDateField(_l("To"), description=_l("DD.MM.YYYY"), validators=[Optional()])

    def validate_date_to(self, field: GermanDateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must be on or after the start date."))


def _berlin_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BERLIN)


def _filtered(form: AuditFilterForm, before: int | None) -> Select[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if form.actor.data:
        query = query.where(func.lower(AuditEntry.actor_name).contains(
            form.actor.data.strip().lower(), autoescape=True))
    if form.object_type.data:
        query = query.where(AuditEntry.object_type == form.object_type.data.strip())
    if form.object_id.data:
        query = query.where(AuditEntry.object_id == form.object_id.data.strip())
    if form.action.data:
        query = query.where(AuditEntry.action.contains(form.action.data.strip(),
                                                       autoescape=True))
    # The dates are the office's calendar days, so the bounds are midnight in Berlin.
    if form.date_from.data:
        query = query.where(AuditEntry.at >= _berlin_midnight_utc(form.date_from.data))
    if form.date_to.data:
        query = query.where(AuditEntry.at < _berlin_midnight_utc(form.date_to.data
                                                                 + timedelta(days=1)))
    if before is not None:
        # Keyset paging (id < last id seen): every page costs the same, however deep.
        query = query.where(AuditEntry.id < before)
    return query


def _readable(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _page_cursor() -> int | None:
    raw = request.args.get("before", "")
    # A hand-edited cursor is ignored rather than refused: it is not something a person typed.
    return int(raw) if raw.isdecimal() and len(raw) < 18 else None


@bp.get("/")
def index() -> ResponseReturnValue:
    form = AuditFilterForm(request.args)
    before = _page_cursor()
    entries: list[AuditEntry] = []
    has_more = False
    if form.validate():
        rows = list(db.session.scalars(_filtered(form, before).limit(PAGE_SIZE + 1)))
        has_more = len(rows) > PAGE_SIZE
        entries = rows[:PAGE_SIZE]
    filter_args = {name: str(form[name].raw_data[0]) for name in _FILTER_FIELDS
                   if form[name].raw_data and form[name].raw_data[0]}
    next_args = {**filter_args, "before": str(entries[-1].id)} if has_more else None
    return render_template("audit/index.html", form=form, entries=entries, readable=_readable,
                           filter_args=filter_args, next_args=next_args,
                           paged=before is not None)


_FILTER_FIELDS = ("actor", "object_type", "object_id", "action", "date_from", "date_to")


def require_reader() -> None:
    staff = current_staff()
    if staff is None or not staff.has_role(*READERS):
        abort(403)


def _add_navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "audit.index", _l("Audit log"), READERS)


# The guard first (anonymous and citizens go to the staff login), then the role check (403).
guard_staff_blueprint(bp)
bp.before_request(require_reader)
bp.record_once(_add_navigation)
