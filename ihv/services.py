"""Every write to Sollstellungen, each with its audit entry in the same transaction; callers commit.

The four eyes (VV Nr. 2–4 zu Art. 70 BayHO, DOMAIN.md §3): an order is established as
*sachlich und rechnerisch richtig* (Feststellung) by someone with the feststeller role who did not
create or last change it, and ordered (Anordnung) by someone with the anordner role who neither
created, changed nor established it. The database repeats the rule in CheckConstraints
(ihv.models), so no code path can skip it.

State changes that need the page's view of an order (approvals, edits) are conditional UPDATEs on
``id``, ``version`` and ``status``: two people acting on the same order at the same moment cannot
both win, on PostgreSQL as on SQLite.

Errors are :class:`OrderError` carrying an English msgid and its parameters; the web layer
translates them, the CLI prints them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import Enum
from typing import Any

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from amtsweg.audit.models import AuditEntry
from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.db import utcnow
from amtsweg.extensions import db
from amtsweg.sessions import staff_actor
from amtsweg.staff.models import Role, Staff
from ihv import codes
from ihv.models import (
    ALLOWED_TRANSITIONS,
    Booking,
    BookingStatus,
    Direction,
    KassenzeichenCounter,
    OrderStatus,
    Recurrence,
    Sollstellung,
    Transfer,
)
from ihv.signals import booking_matched, order_state_changed

OBJECT_TYPE = "sollstellung"
# Orders above this are not plausible for a youth and welfare office and are far more likely a
# typing error (cents typed as euros): 10 million euros.
MAX_AMOUNT_CENTS = 1_000_000_000
MAX_NAME = 200
MAX_STREET = 200
MAX_POSTCODE = 10
MAX_CITY = 100
MAX_REASON = 500
MAX_SOURCE_KEY = 120
BULK_BATCH_SIZE = 5_000
# States in which the order has not left the office and may still be changed or simply cancelled.
BEFORE_TRANSMISSION = frozenset({OrderStatus.DRAFT, OrderStatus.FESTGESTELLT,
                                 OrderStatus.ANGEORDNET})
# States after transmission in which a change order (Änderungsanordnung) may still cancel it.
CANCELLABLE_AFTER_TRANSMISSION = frozenset({OrderStatus.TRANSMITTED, OrderStatus.ACKNOWLEDGED})
EDITABLE_FIELDS = frozenset({"amount_cents", "due_date", "haushaltsstelle", "party_name",
                             "party_street", "party_postcode", "party_city", "iban", "bic",
                             "purpose", "period_start", "period_end"})


class OrderError(ValueError):
    """A write was refused; ``message`` is an English msgid with ``%(name)s`` placeholders."""

    def __init__(self, message: str, field_name: str | None = None, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.field_name = field_name
        self.params = params


class StaleOrder(OrderError):
    """The order changed since the page was shown; nothing was written."""


def _actor(staff: Staff | None) -> Actor:
    return SYSTEM if staff is None else staff_actor(staff)


def _snapshot(order: Sollstellung) -> dict[str, Any]:
    return {"kassenzeichen": order.kassenzeichen, "status": order.status,
            "direction": order.direction, "amount_cents": order.amount_cents,
            "due_date": order.due_date, "haushaltsstelle": order.haushaltsstelle,
            "party_name": order.party_name, "iban": order.iban, "bic": order.bic,
            "purpose": order.purpose, "version": order.version, "fall_id": order.fall_id}


def _emit_state(order: Sollstellung, old: OrderStatus, new: OrderStatus) -> None:
    if old != new:
        order_state_changed.send(order, old=old, new=new)


# --- validation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderSpec:
    """One order of a payment run: the keywords of :func:`create_order`."""

    direction: Direction
    amount_cents: int
    due_date: date
    haushaltsstelle: str
    party_name: str
    party_street: str = ""
    party_postcode: str = ""
    party_city: str = ""
    iban: str | None = None
    bic: str | None = None
    purpose: str | None = None
    fall_id: int | None = None
    source: str = "manual"
    source_key: str | None = None
    recurrence: Recurrence = Recurrence.ONE_OFF
    kassenzeichen: str | None = None
    period_start: date | None = None
    period_end: date | None = None


_SPEC_FIELDS = tuple(f.name for f in fields(OrderSpec))
# Tabs and line breaks are folded into spaces below; every other control character is refused.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: object, limit: int, field_name: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise OrderError("This value is not valid.", field_name)
    # A control character (NUL above all) was not typed into our form and would break the file.
    if _CONTROL.search(value):
        raise OrderError("This value is not valid.", field_name)
    value = " ".join(value.split())
    if required and not value:
        raise OrderError("Enter the name of the payee or payer.", field_name)
    if len(value) > limit:
        raise OrderError("At most %(max)s characters.", field_name, max=limit)
    return value


def check_amount(amount_cents: object) -> int:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise OrderError("Enter the amount in euros and cents, like 227,00.", "amount")
    if amount_cents <= 0:
        raise OrderError("The amount must be more than 0 euros.", "amount")
    if amount_cents > MAX_AMOUNT_CENTS:
        raise OrderError("The amount must not exceed 10,000,000 euros.", "amount")
    return amount_cents


def check_iban(iban: str | None, *, required: bool) -> str | None:
    if iban is None or not iban.strip():
        if required:
            # A payment order names the account the treasury pays into (Art. 70 BayHO VV).
            raise OrderError("A payment order needs the payee's IBAN.", "iban")
        return None
    if len(iban) > 50:
        raise OrderError("Enter a valid IBAN, like DE89 3704 0044 0532 0130 00.", "iban")
    try:
        return str(IBAN(iban).compact)
    except SchwiftyException:
        raise OrderError("Enter a valid IBAN, like DE89 3704 0044 0532 0130 00.",
                         "iban") from None


def check_bic(bic: str | None, iban: str | None) -> str | None:
    if bic is None or not bic.strip():
        return None
    if len(bic) > 20:
        raise OrderError("Enter a valid BIC of 8 or 11 characters, like COBADEFFXXX.", "bic")
    try:
        parsed = BIC(bic)
    except SchwiftyException:
        raise OrderError("Enter a valid BIC of 8 or 11 characters, like COBADEFFXXX.",
                         "bic") from None
    if iban is not None and parsed.country_code != iban[:2] and not _same_sepa_area(
            parsed.country_code, iban[:2]):
        raise OrderError("The BIC belongs to a bank in another country than the IBAN.", "bic")
    return str(parsed.compact)


def _same_sepa_area(bic_country: str, iban_country: str) -> bool:
    # Banks in dependent territories use the IBAN of their territory but the BIC of the mother
    # country (Monaco and France, Guernsey and the United Kingdom, ...).
    families = ({"FR", "MC", "GP", "MQ", "RE", "GF", "YT", "PM", "BL", "MF", "NC", "PF"},
                {"GB", "GG", "JE", "IM"}, {"FI", "AX"}, {"CH", "LI"})
    return any(bic_country in family and iban_country in family for family in families)


def check_haushaltsstelle(text: object) -> str:
    if not isinstance(text, str) or not codes.is_valid_haushaltsstelle(text):
        raise OrderError("Enter the Haushaltsstelle in the form xx xx/xxx xx-x, like "
                         "70 55/101 38-1.", "haushaltsstelle")
    return codes.normalise_haushaltsstelle(text)


def check_kassenzeichen(text: object) -> str:
    if not isinstance(text, str) or not codes.is_valid_kassenzeichen(text):
        raise OrderError("This Kassenzeichen is not valid; please check it for typing errors.",
                         "kassenzeichen")
    return codes.normalise_kassenzeichen(text)


def check_purpose(purpose: object, kassenzeichen: str) -> str:
    if not isinstance(purpose, str):
        raise OrderError("This value is not valid.", "purpose")
    purpose = " ".join(purpose.split())
    if len(purpose) > codes.MAX_PURPOSE_LENGTH:
        raise OrderError("The purpose may have at most %(max)s characters.", "purpose",
                         max=codes.MAX_PURPOSE_LENGTH)
    if not codes.is_sepa_text(purpose):
        raise OrderError("The purpose may contain only letters without umlauts, digits, spaces "
                         "and / - ? : ( ) . , ' +", "purpose")
    if not codes.normalise_kassenzeichen(purpose).startswith(kassenzeichen):
        raise OrderError("The purpose must start with the Kassenzeichen %(kassenzeichen)s.",
                         "purpose", kassenzeichen=kassenzeichen)
    return purpose


def _check_period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise OrderError("The end of the period must not be before its start.", "period_end")


def _check_due_date(due: object) -> date:
    if not isinstance(due, date) or isinstance(due, datetime):
        raise OrderError("Enter the due date as a date, like 01.03.2026.", "due_date")
    if not 2000 <= due.year <= 2100:
        raise OrderError("Enter a due date between the years 2000 and 2100.", "due_date")
    return due


def _clean(spec: OrderSpec, *, kassenzeichen: str | None) -> dict[str, Any]:
    """Validate one order's fields; return the column values (without the Kassenzeichen when it
    is still to be handed out)."""
    direction = Direction(spec.direction)
    recurrence = Recurrence(spec.recurrence)
    iban = check_iban(spec.iban, required=direction == Direction.AUSZAHLUNG)
    values: dict[str, Any] = {
        "direction": direction,
        "recurrence": recurrence,
        "amount_cents": check_amount(spec.amount_cents),
        "due_date": _check_due_date(spec.due_date),
        "haushaltsstelle": check_haushaltsstelle(spec.haushaltsstelle),
        "party_name": _text(spec.party_name, MAX_NAME, "party_name", required=True),
        "party_street": _text(spec.party_street, MAX_STREET, "party_street"),
        "party_postcode": _text(spec.party_postcode, MAX_POSTCODE, "party_postcode"),
        "party_city": _text(spec.party_city, MAX_CITY, "party_city"),
        "iban": iban,
        "bic": check_bic(spec.bic, iban),
        "fall_id": spec.fall_id,
        "source": _text(spec.source, 30, "source") or "manual",
        "source_key": _text(spec.source_key, MAX_SOURCE_KEY, "source_key") or None,
        "period_start": spec.period_start,
        "period_end": spec.period_end,
    }
    _check_period(spec.period_start, spec.period_end)
    if kassenzeichen is not None:
        values["kassenzeichen"] = kassenzeichen
        values["purpose"] = (check_purpose(spec.purpose, kassenzeichen) if spec.purpose
                             else default_purpose(kassenzeichen, values))
    return values


def default_purpose(kassenzeichen: str, values: dict[str, Any]) -> str:
    period = ""
    start, end = values.get("period_start"), values.get("period_end")
    if start is not None and end is not None and (start.year, start.month) == (end.year,
                                                                                 end.month):
        period = f"{start.month:02d}.{start.year}"
    elif start is not None and end is not None:
        period = f"{start:%d.%m.%Y}-{end:%d.%m.%Y}"
    return codes.purpose_text(kassenzeichen, period, values["party_name"])


# --- Kassenzeichen -------------------------------------------------------------------------


def reserve_kassenzeichen_numbers(year: int, count: int) -> int:
    """Take ``count`` running numbers of ``year``; return the last. The counter row stays locked
    until the caller commits, so two sessions never hand out the same number."""
    dialect = db.session.get_bind().dialect.name
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(upsert(KassenzeichenCounter).values(year=year, last_number=0)
                       .on_conflict_do_nothing())
    last = db.session.scalar(
        update(KassenzeichenCounter)
        .where(KassenzeichenCounter.year == year)
        .values(last_number=KassenzeichenCounter.last_number + count)
        .returning(KassenzeichenCounter.last_number)
        .execution_options(synchronize_session=False))
    assert last is not None
    if last > codes.MAX_RUNNING_NUMBER:
        raise OrderError("No Kassenzeichen are left for %(year)s.", year=year)
    return int(last)


def next_kassenzeichen(year: int) -> str:
    return codes.make_kassenzeichen(year, reserve_kassenzeichen_numbers(year, 1))


def _year_of(due: date) -> int:
    return due.year


# --- creating ------------------------------------------------------------------------------


def order_by_source_key(source_key: str) -> Sollstellung | None:
    return db.session.scalar(select(Sollstellung).where(Sollstellung.source_key == source_key))


def create_order(actor: Staff | None, *, direction: Direction, amount_cents: int, due_date: date,
                 haushaltsstelle: str, party_name: str, party_street: str = "",
                 party_postcode: str = "", party_city: str = "", iban: str | None = None,
                 bic: str | None = None, purpose: str | None = None, fall_id: int | None = None,
                 source: str = "manual", source_key: str | None = None,
                 recurrence: Recurrence = Recurrence.ONE_OFF, kassenzeichen: str | None = None,
                 period_start: date | None = None,
                 period_end: date | None = None) -> Sollstellung:
    """Raise one order in draft. Idempotent by ``source_key``: the existing order comes back
    unchanged (a payment run started twice for one month creates nothing new)."""
    spec = OrderSpec(direction=direction, amount_cents=amount_cents, due_date=due_date,
                     haushaltsstelle=haushaltsstelle, party_name=party_name,
                     party_street=party_street, party_postcode=party_postcode,
                     party_city=party_city, iban=iban, bic=bic, purpose=purpose, fall_id=fall_id,
                     source=source, source_key=source_key, recurrence=recurrence,
                     kassenzeichen=kassenzeichen, period_start=period_start,
                     period_end=period_end)
    if source_key:
        existing = order_by_source_key(source_key.strip())
        if existing is not None:
            return existing
    given = check_kassenzeichen(kassenzeichen) if kassenzeichen else None
    # Validate everything before a number is taken, so a refused order does not use one up.
    values = _clean(spec, kassenzeichen=None)
    number = given or next_kassenzeichen(_year_of(values["due_date"]))
    values = _clean(spec, kassenzeichen=number)
    order = Sollstellung(**values, status=OrderStatus.DRAFT, version=1, booked_cents=0,
                         created_by_id=None if actor is None else actor.id)
    db.session.add(order)
    db.session.flush()
    record(_actor(actor), "ihv.order_created", OBJECT_TYPE, order.id, after=_snapshot(order))
    return order


def create_orders_bulk(actor: Staff | None, rows: Iterable[OrderSpec]) -> int:
    """Insert a payment run's orders in batches; skip those whose source_key exists already.

    Every row is validated like :func:`create_order`; a bad row refuses the whole run
    (OrderError naming its position) before the batch it is in is written, and the caller's
    rollback drops the batches before it: a run lands whole or not at all. One audit entry per
    batch carries its count and sum, and the order ids.
    """
    created = 0
    batch: list[OrderSpec] = []
    seen_keys: set[str] = set()
    position = 0
    for spec in rows:
        position += 1
        key = spec.source_key.strip() if spec.source_key else None
        if key is not None:
            if key in seen_keys:
                continue
            seen_keys.add(key)
        batch.append(spec)
        if len(batch) >= BULK_BATCH_SIZE:
            created += _insert_batch(actor, batch, position - len(batch) + 1)
            batch = []
    if batch:
        created += _insert_batch(actor, batch, position - len(batch) + 1)
    return created


def _existing_keys(keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        found.update(db.session.scalars(select(Sollstellung.source_key)
                                        .where(Sollstellung.source_key.in_(chunk))))
    return {key for key in found if key is not None}


def _insert_batch(actor: Staff | None, batch: list[OrderSpec], first_position: int) -> int:
    keys = [spec.source_key.strip() for spec in batch if spec.source_key]
    existing = _existing_keys(keys) if keys else set()
    todo = [spec for spec in batch
            if not spec.source_key or spec.source_key.strip() not in existing]
    if not todo:
        return 0
    cleaned: list[tuple[OrderSpec, dict[str, Any]]] = []
    for offset, spec in enumerate(todo):
        try:
            given = check_kassenzeichen(spec.kassenzeichen) if spec.kassenzeichen else None
            values = _clean(spec, kassenzeichen=given)
        except (OrderError, ValueError) as error:
            message = error.message if isinstance(error, OrderError) else str(error)
            raise OrderError("Row %(row)s: %(error)s", getattr(error, "field_name", None),
                             row=first_position + offset, error=message) from None
        cleaned.append((spec, values))
    needing = [values for _spec, values in cleaned if "kassenzeichen" not in values]
    by_year: dict[int, list[dict[str, Any]]] = {}
    for values in needing:
        by_year.setdefault(_year_of(values["due_date"]), []).append(values)
    for year, group in by_year.items():
        last = reserve_kassenzeichen_numbers(year, len(group))
        for index, values in enumerate(group):
            number = codes.make_kassenzeichen(year, last - len(group) + 1 + index)
            values["kassenzeichen"] = number
            values["purpose"] = default_purpose(number, values)
    creator = None if actor is None else actor.id
    now = utcnow()
    rows = [{**values, "status": OrderStatus.DRAFT, "version": 1, "booked_cents": 0,
             "created_by_id": creator, "created_at": now} for _spec, values in cleaned]
    _write_rows(rows)
    numbers = sorted(row["kassenzeichen"] for row in rows)
    record(_actor(actor), "ihv.orders_created_bulk", OBJECT_TYPE, None,
           after={"count": len(rows), "sum_cents": sum(row["amount_cents"] for row in rows),
                  "first_kassenzeichen": numbers[0], "last_kassenzeichen": numbers[-1],
                  "source": sorted({row["source"] for row in rows})})
    return len(rows)


_COPY_COLUMNS = ("kassenzeichen", "direction", "status", "recurrence", "amount_cents",
                 "due_date", "period_start", "period_end", "haushaltsstelle", "party_name",
                 "party_street", "party_postcode", "party_city", "iban", "bic", "purpose",
                 "fall_id", "source", "source_key", "version", "created_by_id", "created_at",
                 "booked_cents")


def _write_rows(rows: list[dict[str, Any]]) -> None:
    """Insert validated rows in the session's transaction: COPY on PostgreSQL (a multi-row
    INSERT of 5,000 rows spends most of its time in the driver building the statement), one
    executemany elsewhere."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(Sollstellung), rows)
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    statement = f"COPY sollstellungen ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([value.value if isinstance(value, Enum) else value
                            for value in (row.get(name) for name in _COPY_COLUMNS)])


# --- changing ------------------------------------------------------------------------------


def _guarded_update(order: Sollstellung, expected_version: int,
                    allowed_from: Iterable[OrderStatus], values: dict[str, Any],
                    *, untransmitted: bool = True) -> None:
    """Write ``values`` only if the order is still at ``expected_version`` in one of the states
    ``allowed_from`` (and not yet claimed by a transfer); else StaleOrder and nothing written."""
    if order.version != expected_version:
        raise StaleOrder("The order was changed in the meantime. Please look at it again.")
    conditions = [Sollstellung.id == order.id, Sollstellung.version == expected_version,
                  Sollstellung.status.in_(list(allowed_from))]
    if untransmitted:
        conditions.append(Sollstellung.transfer_id.is_(None))
    result = db.session.execute(update(Sollstellung).where(*conditions).values(**values)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(order)
        raise StaleOrder("The order was changed in the meantime. Please look at it again.")
    db.session.refresh(order)


def update_order(actor: Staff | None, order: Sollstellung, *, expected_version: int | None = None,
                 **changes: Any) -> Sollstellung:
    """Change an order that has not left the office. Any change voids its approvals: it goes
    back to draft with a new version, and the audit entry says so."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise OrderError("These fields cannot be changed: %(fields)s",
                         fields=", ".join(sorted(unknown)))
    if order.status not in BEFORE_TRANSMISSION or order.transfer_id is not None:
        raise OrderError("This order has been sent to the treasury and can no longer be "
                         "changed. Cancel it with a change order instead.")
    spec_values = {name: getattr(order, name) for name in _SPEC_FIELDS if name != "kassenzeichen"}
    spec_values.update(changes)
    if "purpose" not in changes and any(name in changes for name in ("party_name",
                                                                      "period_start",
                                                                      "period_end")):
        spec_values["purpose"] = None  # let the default follow the new payee or period
    spec = OrderSpec(**spec_values, kassenzeichen=order.kassenzeichen)
    values = _clean(spec, kassenzeichen=order.kassenzeichen)
    new = {name: values[name] for name in EDITABLE_FIELDS}
    differing = {name: value for name, value in new.items() if getattr(order, name) != value}
    if not differing:
        return order
    before = _snapshot(order)
    old_status = order.status
    voided = {"festgestellt_by_id": order.festgestellt_by_id,
              "angeordnet_by_id": order.angeordnet_by_id}
    _guarded_update(order, order.version if expected_version is None else expected_version,
                    BEFORE_TRANSMISSION, {
                        **differing, "status": OrderStatus.DRAFT,
                        "version": order.version + 1,
                        "festgestellt_by_id": None, "festgestellt_at": None,
                        "angeordnet_by_id": None, "angeordnet_at": None,
                        "changed_by_id": None if actor is None else actor.id,
                        "changed_at": utcnow()})
    record(_actor(actor), "ihv.order_changed", OBJECT_TYPE, order.id, before=before,
           after={**_snapshot(order), "changed": sorted(differing),
                  "approvals_voided": any(voided.values()), "voided": voided})
    _emit_state(order, old_status, order.status)
    return order


def _require_role(actor: Staff, role: Role) -> None:
    if not actor.active or not actor.has_role(role):
        raise OrderError("You do not have the role needed for this step.")


def _check_feststellung(actor: Staff, order: Sollstellung) -> None:
    _require_role(actor, Role.FESTSTELLER)
    if order.status != OrderStatus.DRAFT:
        raise OrderError("Only a draft order can be established.")
    if actor.id in (order.created_by_id, order.changed_by_id):
        raise OrderError("You cannot establish an order you created or changed yourself.")


def _check_anordnung(actor: Staff, order: Sollstellung) -> None:
    _require_role(actor, Role.ANORDNER)
    if order.status != OrderStatus.FESTGESTELLT:
        raise OrderError("Only an established order can be ordered.")
    if actor.id in (order.created_by_id, order.changed_by_id, order.festgestellt_by_id):
        raise OrderError("You cannot order an order you created, changed or established "
                         "yourself.")


def feststellen(actor: Staff, order: Sollstellung, expected_version: int) -> Sollstellung:
    """Feststellung: sachlich und rechnerisch richtig (VV Nr. 2 zu Art. 70 BayHO)."""
    _check_feststellung(actor, order)
    _guarded_update(order, expected_version, {OrderStatus.DRAFT},
                    {"status": OrderStatus.FESTGESTELLT, "festgestellt_by_id": actor.id,
                     "festgestellt_at": utcnow()})
    record(staff_actor(actor), "ihv.order_festgestellt", OBJECT_TYPE, order.id,
           before={"status": OrderStatus.DRAFT},
           after={"status": order.status, "version": order.version,
                  "amount_cents": order.amount_cents})
    _emit_state(order, OrderStatus.DRAFT, order.status)
    return order


def anordnen(actor: Staff, order: Sollstellung, expected_version: int) -> Sollstellung:
    """Anordnung by an Anordnungsbefugter (Art. 70 BayHO); the view asks for a fresh login."""
    _check_anordnung(actor, order)
    _guarded_update(order, expected_version, {OrderStatus.FESTGESTELLT},
                    {"status": OrderStatus.ANGEORDNET, "angeordnet_by_id": actor.id,
                     "angeordnet_at": utcnow()})
    record(staff_actor(actor), "ihv.order_angeordnet", OBJECT_TYPE, order.id,
           before={"status": OrderStatus.FESTGESTELLT},
           after={"status": order.status, "version": order.version,
                  "amount_cents": order.amount_cents})
    _emit_state(order, OrderStatus.FESTGESTELLT, order.status)
    return order


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    # (order id, English msgid, params) for each order that was refused.
    refused: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    sum_cents: int = 0

    @property
    def count(self) -> int:
        return len(self.done)


def _many(actor: Staff, ids_with_versions: Iterable[tuple[int, int]], step: Any) -> BulkResult:
    pairs = list(ids_with_versions)
    result = BulkResult()
    orders: dict[int, Sollstellung] = {}
    ids = [order_id for order_id, _version in pairs]
    for start in range(0, len(ids), 1000):
        for loaded in db.session.scalars(select(Sollstellung)
                                         .where(Sollstellung.id.in_(ids[start:start + 1000]))):
            orders[loaded.id] = loaded
    for order_id, version in pairs:
        order = orders.get(order_id)
        if order is None:
            missing = OrderError("This order does not exist.")
            result.refused.append((order_id, missing.message, missing.params))
            continue
        try:
            # A savepoint per order: one refused order leaves the others standing.
            with db.session.begin_nested():
                step(actor, order, version)
        except OrderError as error:
            result.refused.append((order_id, error.message, error.params))
            continue
        result.done.append(order_id)
        result.sum_cents += order.amount_cents
    return result


def feststellen_many(actor: Staff, ids_with_versions: Iterable[tuple[int, int]]) -> BulkResult:
    return _many(actor, ids_with_versions, feststellen)


def anordnen_many(actor: Staff, ids_with_versions: Iterable[tuple[int, int]]) -> BulkResult:
    return _many(actor, ids_with_versions, anordnen)


# --- cancelling ----------------------------------------------------------------------------


def pending_change_order(order: Sollstellung) -> Sollstellung | None:
    return db.session.scalar(select(Sollstellung).where(
        Sollstellung.replaces_id == order.id,
        Sollstellung.status.not_in([OrderStatus.CANCELLED, OrderStatus.REJECTED])))


def cancel_order(actor: Staff | None, order: Sollstellung, reason: str) -> Sollstellung:
    """Cancel an order; never delete it.

    Before transmission the order simply becomes cancelled (approvals or not: it never left).
    After transmission the treasury holds it, so a change order (Änderungsanordnung, VV zu
    Art. 70 BayHO) is raised for the open amount: a new draft with ``replaces_id``, the same
    Kassenzeichen and direction, which goes through both approvals and the next transfer like
    any order. The original becomes cancelled when that change order is sent
    (:func:`mark_transmitted`), not before — until then the treasury still acts on it. Returned:
    the cancelled order, or the change order.
    """
    reason = _text(reason, MAX_REASON, "reason")
    if not reason:
        raise OrderError("Give the reason for the cancellation.", "reason")
    if order.status in BEFORE_TRANSMISSION and order.transfer_id is None:
        old = order.status
        before = _snapshot(order)
        _guarded_update(order, order.version, BEFORE_TRANSMISSION,
                        {"status": OrderStatus.CANCELLED, "cancelled_at": utcnow(),
                         "cancel_reason": reason, "version": order.version + 1})
        record(_actor(actor), "ihv.order_cancelled", OBJECT_TYPE, order.id, before=before,
               after={"status": order.status, "reason": reason})
        _emit_state(order, old, order.status)
        return order
    if order.status not in CANCELLABLE_AFTER_TRANSMISSION and order.status not in (
            BEFORE_TRANSMISSION):
        raise OrderError("This order can no longer be cancelled (state: %(status)s).",
                         status=order.status.value)
    if order.open_cents <= 0:
        raise OrderError("Nothing of this order is open any more; it cannot be cancelled.")
    if pending_change_order(order) is not None:
        raise OrderError("A change order for this order is already under way.")
    change = Sollstellung(
        kassenzeichen=order.kassenzeichen, direction=order.direction,
        recurrence=order.recurrence, amount_cents=order.open_cents, due_date=order.due_date,
        period_start=order.period_start, period_end=order.period_end,
        haushaltsstelle=order.haushaltsstelle, party_name=order.party_name,
        party_street=order.party_street, party_postcode=order.party_postcode,
        party_city=order.party_city, iban=order.iban, bic=order.bic,
        purpose=codes.purpose_text(order.kassenzeichen, "Aenderungsanordnung Absetzung"),
        fall_id=order.fall_id, source="aenderung", replaces_id=order.id,
        status=OrderStatus.DRAFT, version=1, booked_cents=0,
        created_by_id=None if actor is None else actor.id, cancel_reason=reason)
    db.session.add(change)
    db.session.flush()
    record(_actor(actor), "ihv.change_order_created", OBJECT_TYPE, change.id,
           after={**_snapshot(change), "replaces_id": order.id, "reason": reason})
    return change


# --- what the transfer reports back (called by ihv.transfer) --------------------------------


def _transition(order: Sollstellung, new: OrderStatus) -> OrderStatus:
    old = order.status
    if new not in ALLOWED_TRANSITIONS[old]:
        raise OrderError("The order %(kassenzeichen)s cannot go from %(old)s to %(new)s.",
                         kassenzeichen=order.kassenzeichen, old=old.value, new=new.value)
    return old


def mark_transmitted(orders: Sequence[Sollstellung], transfer: Transfer) -> int:
    """The transfer file carrying ``orders`` was delivered: they are transmitted.

    Set-based (a payment run sends 100,000 at once): one UPDATE per chunk, one audit entry for
    the transfer; the objects in hand are brought up to date without a flush per row. Orders
    already transmitted with this transfer are left alone, so a rerun after a crash is a no-op.
    A change order that goes out cancels the order it replaces (see :func:`cancel_order`).
    Returns how many orders changed state.
    """
    ids = [order.id for order in orders]
    changed = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        result = db.session.execute(
            update(Sollstellung)
            .where(Sollstellung.id.in_(chunk), Sollstellung.status == OrderStatus.ANGEORDNET,
                   (Sollstellung.transfer_id.is_(None))
                   | (Sollstellung.transfer_id == transfer.id))
            .values(status=OrderStatus.TRANSMITTED, transfer_id=transfer.id)
            .execution_options(synchronize_session=False))
        changed += int(result.rowcount)  # type: ignore[attr-defined]
    for order in orders:
        if order.status == OrderStatus.ANGEORDNET:
            set_committed_value(order, "status", OrderStatus.TRANSMITTED)
            set_committed_value(order, "transfer_id", transfer.id)
    if changed:
        record(SYSTEM, "ihv.orders_transmitted", "ihv_transfer", transfer.id,
               after={"count": changed, "sum_cents": sum(o.amount_cents for o in orders),
                      "sequence_number": transfer.sequence_number})
    replaced = [order.replaces_id for order in orders if order.replaces_id is not None]
    if replaced:
        _cancel_replaced(replaced)
    return changed


def _cancel_replaced(original_ids: list[int]) -> None:
    originals = db.session.scalars(select(Sollstellung).where(
        Sollstellung.id.in_(original_ids),
        Sollstellung.status.in_(list(CANCELLABLE_AFTER_TRANSMISSION))))
    now = utcnow()
    for original in originals:
        change = pending_change_order(original)
        old = _transition(original, OrderStatus.CANCELLED)
        original.status = OrderStatus.CANCELLED
        original.cancelled_at = now
        original.cancel_reason = change.cancel_reason if change is not None else None
        record(SYSTEM, "ihv.order_cancelled", OBJECT_TYPE, original.id,
               before={"status": old},
               after={"status": OrderStatus.CANCELLED,
                      "change_order_id": None if change is None else change.id})
        _emit_state(original, old, OrderStatus.CANCELLED)
    db.session.flush()


def mark_acknowledged(order: Sollstellung, at: datetime) -> None:
    """The treasury accepted the order. Idempotent (an acknowledgement read twice)."""
    if order.status in (OrderStatus.ACKNOWLEDGED, OrderStatus.BOOKED):
        return
    old = _transition(order, OrderStatus.ACKNOWLEDGED)
    order.status = OrderStatus.ACKNOWLEDGED
    order.acknowledged_at = at
    db.session.flush()
    record(SYSTEM, "ihv.order_acknowledged", OBJECT_TYPE, order.id,
           before={"status": old}, after={"status": order.status, "at": at})
    _emit_state(order, old, order.status)


def mark_rejected(order: Sollstellung, reason: str, at: datetime) -> None:
    """The treasury refused the order; it ends here (a corrected order is a new order)."""
    if order.status == OrderStatus.REJECTED:
        return
    old = _transition(order, OrderStatus.REJECTED)
    order.status = OrderStatus.REJECTED
    order.acknowledged_at = at
    order.rejection_reason = (" ".join(reason.split()) or "-")[:MAX_REASON]
    db.session.flush()
    record(SYSTEM, "ihv.order_rejected", OBJECT_TYPE, order.id,
           before={"status": old},
           after={"status": order.status, "reason": order.rejection_reason, "at": at})
    _emit_state(order, old, order.status)


def apply_booking(order: Sollstellung, booking: Booking) -> None:
    """Book an IST booking against ``order``.

    Adds to booked_cents up to the amount; what exceeds it is kept on the booking as
    excess_cents (an overpayment is never lost, finance staff see it). Fully booked → BOOKED.
    A booking for a cancelled or rejected order is not applied: it stays unclear, on the
    Klärungsliste, since money moved on an order the office no longer stands behind.
    Sends ``booking_matched`` after applying.
    """
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) or order.status in (
            BEFORE_TRANSMISSION):
        booking.status = BookingStatus.UNCLEAR
        booking.sollstellung_id = None
        # Shown on the Klärungsliste (German, like the treasury's own texts in the data).
        booking.note = f"Sollstellung {order.kassenzeichen} hat den Status {order.status.value}."
        db.session.flush()
        return
    open_before = order.open_cents
    applied = min(booking.amount_cents, open_before)
    booking.excess_cents = booking.amount_cents - applied
    booking.sollstellung_id = order.id
    if booking.status == BookingStatus.UNCLEAR:
        booking.status = BookingStatus.MATCHED
    order.booked_cents = order.booked_cents + applied
    old = order.status
    if order.booked_cents >= order.amount_cents and old != OrderStatus.BOOKED:
        _transition(order, OrderStatus.BOOKED)
        order.status = OrderStatus.BOOKED
    if booking.id is None:
        # The audit entry names the booking; an IST file of 100,000 bookings is not flushed
        # row by row when its bookings already have their ids.
        db.session.flush()
    record(SYSTEM, "ihv.booking_applied", OBJECT_TYPE, order.id,
           before={"status": old, "booked_cents": order.booked_cents - applied},
           after={"status": order.status, "booked_cents": order.booked_cents,
                  "booking_id": booking.id, "applied_cents": applied,
                  "excess_cents": booking.excess_cents})
    _emit_state(order, old, order.status)
    booking_matched.send(booking, order=order)


# --- reading -------------------------------------------------------------------------------


# Built once, its value bound per call: every case view runs it.
_ORDERS_FOR_CASE = (select(Sollstellung).where(Sollstellung.fall_id == bindparam("fall_id"))
                    .order_by(Sollstellung.due_date.desc(), Sollstellung.id.desc()))


def orders_for_case(fall_id: int) -> list[Sollstellung]:
    return list(db.session.scalars(_ORDERS_FOR_CASE, {"fall_id": fall_id}))


def find_order(order_id: int) -> Sollstellung | None:
    return db.session.get(Sollstellung, order_id)


def orders_by_kassenzeichen(kassenzeichen: str) -> list[Sollstellung]:
    return list(db.session.scalars(select(Sollstellung).where(
        Sollstellung.kassenzeichen == codes.normalise_kassenzeichen(kassenzeichen))
        .order_by(Sollstellung.due_date, Sollstellung.id)))


def order_history(order: Sollstellung) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == OBJECT_TYPE, AuditEntry.object_id == str(order.id))
        .order_by(AuditEntry.id)))


def count_by_status() -> dict[OrderStatus, tuple[int, int]]:
    rows = db.session.execute(select(Sollstellung.status, func.count(),
                                     func.coalesce(func.sum(Sollstellung.amount_cents), 0))
                              .group_by(Sollstellung.status))
    return {OrderStatus(status): (int(count), int(total)) for status, count, total in rows}
