"""The statistics page and its downloads.

Who sees what: leads, administrators and auditors see the UVG and work figures; they and the
finance roles (Feststeller, Anordner) see the money figures. Leads see the Fachbereiche they
belong to; administrators, auditors and the finance roles work office-wide (the IHV queues
show every order), so they may choose any Fachbereich or the whole office. The figures are
aggregates, but a Fachbereich's caseload and deadlines are still its own business: choosing a
Fachbereich one may not see is refused (403).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    copy_current_request_context,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from markupsafe import Markup
from sqlalchemy import select

from amtsweg.clock import berlin_today
from amtsweg.extensions import db
from amtsweg.navigation import add_staff_item
from amtsweg.sessions import current_staff, guard_staff_blueprint
from amtsweg.staff.models import Fachbereich, Role, Staff
from amtsweg.translate import gettext as _
from amtsweg.translate import lazy_gettext as _l
from reports import charts, exports, figures
from reports.figures import Period, Scope, Table
from reports.formatting import format_cell
from reports.forms import FIRST_YEAR, PeriodForm

bp = Blueprint("reports", __name__, url_prefix="/intern/statistik")

CASE_FIGURE_ROLES = (Role.LEAD, Role.ADMIN, Role.AUDITOR)
MONEY_ROLES = (*CASE_FIGURE_ROLES, Role.FESTSTELLER, Role.ANORDNER)
OFFICE_WIDE_ROLES = (Role.ADMIN, Role.AUDITOR, Role.FESTSTELLER, Role.ANORDNER)


def _require_report_role() -> None:
    staff = current_staff()
    if staff is None or not staff.has_role(*MONEY_ROLES):
        abort(403)


def _staff() -> Staff:
    staff = current_staff()
    assert staff is not None  # the guard let only staff in
    return staff


def allowed_fachbereiche(staff: Staff) -> list[tuple[int, str]]:
    query = select(Fachbereich.id, Fachbereich.name).order_by(Fachbereich.name)
    if not staff.has_role(*OFFICE_WIDE_ROLES):
        query = query.where(Fachbereich.id.in_(sorted(staff.fachbereich_ids)))
    return [(fb_id, name) for fb_id, name in db.session.execute(query)]


@dataclass
class Selection:
    form: PeriodForm
    period: Period | None
    scope: Scope
    fachbereich_name: str
    case_figures: bool
    money_figures: bool


def _locale() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "de"


def _select() -> Selection:
    staff = _staff()
    allowed = allowed_fachbereiche(staff)
    office_wide = staff.has_role(*OFFICE_WIDE_ROLES)
    chosen = request.args.get("fachbereich", "").strip()
    # An existing Fachbereich the user may not see is refused; a made-up number is an input
    # error like any other.
    if (chosen.isdecimal() and len(chosen) < 10
            and int(chosen) not in {fb_id for fb_id, _name in allowed}
            and db.session.get(Fachbereich, int(chosen)) is not None):
        abort(403)
    form = PeriodForm(request.args, fachbereiche=allowed,
                      all_label=_l("All (whole office)") if office_wide
                      else _l("All my Fachbereiche"), today=berlin_today())
    period = form.chosen_period() if form.validate() else None
    if period is None:
        scope, name = Scope(frozenset()), ""
    elif form.fachbereich.data:
        fb_id = int(form.fachbereich.data)
        scope = Scope(frozenset({fb_id}))
        name = dict(allowed)[fb_id]
    else:
        scope = Scope(None) if office_wide else Scope(frozenset(fb for fb, _n in allowed))
        name = str(form.fachbereich.choices[0].label)  # type: ignore[index,union-attr]
    return Selection(form, period, scope, name, staff.has_role(*CASE_FIGURE_ROLES),
                     staff.has_role(*MONEY_ROLES))


def _tables(selection: Selection) -> list[tuple[Any, list[Table]]]:
    assert selection.period is not None
    period, scope = selection.period, selection.scope
    sections: list[tuple[Any, Callable[[Period, Scope], list[Table]]]] = []
    if selection.case_figures:
        if figures.uvg_in_scope(scope):
            sections.append((_l("Unterhaltsvorschuss"), figures.uvg_tables))
        sections.append((_l("Work"), figures.work_tables))
    if selection.money_figures:
        sections.append((_l("Money"), figures.money_tables))
    results = _side_by_side([partial(compute, period, scope) for _heading, compute in sections])
    return [(heading, tables) for (heading, _compute), tables in zip(sections, results,
                                                                      strict=True)]


def _side_by_side(calls: list[Callable[[], list[Table]]]) -> list[list[Table]]:
    """Run the sections at once, each in its own thread with its own database session.

    The page's time is its aggregates (a year of payment orders, entitlements, intake items),
    and the sections read different tables: on their own connections the database works on
    them in parallel, so the page waits for the slowest section instead of the sum. Each
    thread gets a copy of the request context: the same locale and request, a new application
    context and so its own session, removed when the thread's context ends.
    """
    if len(calls) < 2:
        return [call() for call in calls]
    # The UVG amounts and the Soll/Ist table read the same pass over the year's orders: the
    # threads share its cache (the money section, which starts with it, usually fills it first).
    shared = g.setdefault(figures.ORDER_ROWS_CACHE, {})

    def in_thread(call: Callable[[], list[Table]]) -> list[Table]:
        setattr(g, figures.ORDER_ROWS_CACHE, shared)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="statistik") as pool:
        futures = [pool.submit(copy_current_request_context(partial(in_thread, call)))
                   for call in calls]
        return [future.result() for future in futures]


def _formatter(kind: str, locale: str) -> Callable[[float], str]:
    def fmt(value: float) -> str:
        if kind == "cents":
            return format_cell(int(value), "cents", locale)
        if kind == "count":
            return format_cell(round(value), "count", locale)
        return format_cell(value, kind, locale)

    return fmt


def chart_for(table: Table, locale: str) -> Markup | None:
    """The chart beside a table, drawn from the same rows."""
    if table.chart is None:
        return None
    title = str(table.title)
    if table.key == "items_per_week_kind":
        per_week = table.meta["per_week"]
        labels = [week for week, _count in per_week]
        series = [charts.Series(str(_l("Items")), [count for _week, count in per_week])]
        kind = "count"
    elif table.key == "soll_ist":
        months = sorted(table.meta["per_month"])
        labels = [f"{key[5:]}/{key[:4]}" for key in months]
        series = [charts.Series(str(_l("Soll")), [table.meta["per_month"][k][0] for k in months]),
                  charts.Series(str(_l("Ist")), [table.meta["per_month"][k][1] for k in months])]
        kind = "cents"
    else:
        rows = table.rows[:-1] if table.has_total else table.rows
        labels = [str(row[0]) for row in rows]
        series = [charts.Series(str(table.columns[i].label), [row[i] or 0 for row in rows])
                  for i in table.chart_value_columns]
        kind = table.columns[table.chart_value_columns[0]].kind
    if not labels:
        return None
    description = _("The same figures are in the table beside the chart.")
    draw = charts.line_chart if table.chart == "line" and len(labels) > 1 else charts.bar_chart
    return draw(title, description, labels, series, _formatter(kind, locale))


def _period_label(period: Period) -> str:
    return str(_("%(start)s to %(end)s", start=period.start.strftime("%d.%m.%Y"),
                 end=period.last_day.strftime("%d.%m.%Y")))


@bp.get("/")
def index() -> ResponseReturnValue:
    selection = _select()
    locale = _locale()
    sections: list[tuple[Any, list[tuple[Table, Markup | None]]]] = []
    future = show_annual = False
    if selection.period is not None:
        show_annual = selection.case_figures and figures.uvg_in_scope(selection.scope)
        future = selection.period.start > berlin_today()
        sections = [(heading, [(table, chart_for(table, locale)) for table in tables])
                    for heading, tables in _tables(selection)]
    return render_template(
        "reports/index.html", form=selection.form, selection=selection, sections=sections,
        future=future, show_annual=show_annual, locale=locale, format_cell=format_cell,
        query=_query(),
        period_label=_period_label(selection.period) if selection.period else "",
        annual_year=selection.period.last_day.year if selection.period else None)


def _query() -> dict[str, str]:
    """The picker's own parameters, to carry into links (nothing else a URL brought along)."""
    return {name: request.args[name][:40] for name in PICKER_FIELDS if name in request.args}


def _valid_or_redirect(selection: Selection) -> ResponseReturnValue | None:
    if selection.period is None:
        target: str = url_for("reports.index", **_query())  # type: ignore[arg-type]
        return redirect(target)
    return None


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _file_stem(selection: Selection) -> str:
    assert selection.period is not None
    return (f"statistik_{selection.period.start:%Y-%m-%d}_{selection.period.last_day:%Y-%m-%d}")


@bp.get("/tabelle/<key>.csv")
def table_csv(key: str) -> ResponseReturnValue:
    selection = _select()
    if (refused := _valid_or_redirect(selection)) is not None:
        return refused
    figure = figures.FIGURES_BY_KEY.get(key)
    if figure is None:
        abort(404)
    if key in figures.UVG_KEYS | figures.WORK_KEYS:
        allowed = selection.case_figures and (key in figures.WORK_KEYS
                                              or figures.uvg_in_scope(selection.scope))
    else:
        allowed = selection.money_figures
    if not allowed:
        abort(403)
    assert selection.period is not None
    table = figure(selection.period, selection.scope)
    return _download(exports.table_csv(table), "text/csv; charset=utf-8",
                     f"{_file_stem(selection)}_{key}.csv")
    return None


@bp.get("/statistik.xlsx")
def all_xlsx() -> ResponseReturnValue:
    selection = _select()
    if (refused := _valid_or_redirect(selection)) is not None:
        return refused
    assert selection.period is not None
    tables = [table for _heading, group in _tables(selection) for table in group]
    heading = f"{selection.fachbereich_name}, {_period_label(selection.period)}"
    return _download(exports.tables_xlsx(tables, heading), XLSX, f"{_file_stem(selection)}.xlsx")


PICKER_FIELDS = ("period", "year", "month", "quarter", "date_from", "date_to", "fachbereich")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _annual(year: int) -> tuple[Selection, list[Table], exports.ReportHeader]:
    selection = _select()
    if not selection.case_figures:
        abort(403)
    today = berlin_today()
    if not FIRST_YEAR <= year <= today.year:
        abort(404)
    period = Period(date(year, 1, 1), date(year + 1, 1, 1))
    if not figures.uvg_in_scope(selection.scope):
        abort(403)
    tables = figures.uvg_tables(period, selection.scope)
    office = current_app.config["AMTSWEG"].office.name
    header = exports.ReportHeader(
        office=office,
        title=_("Unterhaltsvorschuss: annual report %(year)s", year=year),
        subtitle=_("%(area)s, calendar year %(year)s (1 January to 31 December)",
                   area=selection.fachbereich_name, year=year)
        + ("" if year < today.year else " – " + _("the year is still running")),
        created_on=today, created_label=_("Created on"))
    return selection, tables, header


@bp.get("/jahresbericht/<int:year>.pdf")
def annual_pdf(year: int) -> ResponseReturnValue:
    _selection, tables, header = _annual(year)
    return _download(exports.annual_report_pdf(header, tables, _locale()), "application/pdf",
                     f"uvg_jahresbericht_{year}.pdf")


@bp.get("/jahresbericht/<int:year>.xlsx")
def annual_xlsx(year: int) -> ResponseReturnValue:
    _selection, tables, header = _annual(year)
    return _download(exports.tables_xlsx(tables, f"{header.title} – {header.subtitle}"), XLSX,
                     f"uvg_jahresbericht_{year}.xlsx")


def _add_navigation(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    add_staff_item(app, "reports.index", _l("Statistics"), MONEY_ROLES)


# The guard first (anonymous and citizens go to the staff login), then the role check (403).
guard_staff_blueprint(bp)
bp.before_request(_require_report_role)
bp.record_once(_add_navigation)
