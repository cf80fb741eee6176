"""Routing rules: which Fachbereich an item of a given service goes to (a proposal, not a law).

The clearing office must not import the portal's catalogue (the layers point the other way), so
each rule also carries the service's title as the queue shows it. Leads edit the table.

Rules are seeded from ``DEFAULT_RULES`` by ``amtsweg clearing seed-rules`` (run after
``amtsweg db upgrade``) and otherwise on the first write that needs them (a bulk route, the
lead's rules page when rows are missing). Pages that only read (the queue, an item) never write:
they read the stored rules and fall back to the defaults in memory for a rule not stored yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from amtsweg.audit.services import SYSTEM, Actor, record
from amtsweg.db import Base, UTCDateTime, utcnow
from amtsweg.extensions import db
from amtsweg.fachbereiche import fachbereich_by_code
from amtsweg.staff.models import Fachbereich


class RoutingRule(Base):
    __tablename__ = "clearing_routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    # Empty: no proposal, the clerk decides (e.g. a general request without a topic).
    fachbereich_id: Mapped[int | None] = mapped_column(
        ForeignKey("fachbereiche.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    fachbereich: Mapped[Fachbereich | None] = relationship(lazy="joined")


class DefaultRule(NamedTuple):
    service_code: str
    label: str
    fachbereich_code: str | None


# The services the portal registers today and the Fachbereich each one belongs to.
DEFAULT_RULES: tuple[DefaultRule, ...] = (
    DefaultRule("uvg", "Unterhaltsvorschuss", "uvg"),
    DefaultRule("beistandschaft", "Beistandschaft", "beistandschaft"),
    DefaultRule("beurkundung", "Beurkundung", "beistandschaft"),
    DefaultRule("vormundschaft", "Vormundschaft", "vormundschaft"),
    DefaultRule("wjh", "Wirtschaftliche Jugendhilfe", "wjh"),
    DefaultRule("asd", "Allgemeiner Sozialer Dienst", "asd"),
    DefaultRule("jgh", "Jugendgerichtshilfe", "jgh"),
    DefaultRule("sozialhilfe", "Sozialhilfe", "sozialhilfe"),
    DefaultRule("wohngeld", "Wohngeld", "wohngeld"),
    DefaultRule("allgemein", "Allgemeine Anfrage", None),
)


def ensure_default_rules() -> int:
    """Add the default rules that are missing (never overwrite a lead's edit); return the count.

    The caller commits.
    """
    existing = set(db.session.scalars(select(RoutingRule.service_code)))
    added = 0
    for default in DEFAULT_RULES:
        if default.service_code in existing:
            continue
        fachbereich = (fachbereich_by_code(default.fachbereich_code)
                       if default.fachbereich_code else None)
        rule = RoutingRule(service_code=default.service_code, label=default.label,
                           fachbereich_id=fachbereich.id if fachbereich else None,
                           updated_at=utcnow())
        db.session.add(rule)
        db.session.flush()
        record(SYSTEM, "routing_rule.seeded", "routing_rule", rule.id,
               after=_audit_view(rule))
        added += 1
    return added


def all_rules() -> list[RoutingRule]:
    return list(db.session.scalars(select(RoutingRule).order_by(RoutingRule.label)))


def find_rule(rule_id: int) -> RoutingRule | None:
    return db.session.get(RoutingRule, rule_id)


def rules_by_code() -> dict[str, RoutingRule]:
    return {rule.service_code: rule for rule in db.session.scalars(select(RoutingRule))}


def service_labels() -> dict[str, str]:
    """Each service's title: the stored rule's, else the default's (one statement, no write)."""
    labels = {default.service_code: default.label for default in DEFAULT_RULES}
    for code, label in db.session.execute(select(RoutingRule.service_code, RoutingRule.label)):
        labels[code] = label
    return labels


def missing_default_rules() -> bool:
    """Whether a default rule is not stored yet (a read; the seeding is a separate write)."""
    stored = set(db.session.scalars(select(RoutingRule.service_code)))
    return any(default.service_code not in stored for default in DEFAULT_RULES)


def proposed_fachbereich(service_code: str | None) -> Fachbereich | None:
    if not service_code:
        return None
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.service_code == service_code))
    if rule is not None:
        return rule.fachbereich
    default = next((default for default in DEFAULT_RULES
                    if default.service_code == service_code), None)
    if default is None or default.fachbereich_code is None:
        return None
    return fachbereich_by_code(default.fachbereich_code)


def update_rule(rule: RoutingRule, *, label: str, fachbereich: Fachbereich | None,
                actor: Actor) -> None:
    """Change where a service's items are proposed to go; the caller commits."""
    before = _audit_view(rule)
    rule.label = label[:200]
    rule.fachbereich_id = fachbereich.id if fachbereich else None
    rule.fachbereich = fachbereich
    rule.updated_at = utcnow()
    record(actor, "routing_rule.updated", "routing_rule", rule.id, before=before,
           after=_audit_view(rule))


def _audit_view(rule: RoutingRule) -> dict[str, object]:
    return {"service_code": rule.service_code, "label": rule.label,
            "fachbereich_id": rule.fachbereich_id}
