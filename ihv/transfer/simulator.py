"""``amtsweg ihv simulate``: plays the Landesamt für Finanzen (or, for SEPA, the bank).

Reads the transfer files from the outbox, validates them as the treasury would (XSD, count,
control sum, a sequence number not seen before), and writes into the inbox what the treasury
sends back: one acknowledgement file per transfer (each order accepted or rejected with a reason)
and IST booking files. For the SEPA adapter it reads pain.001 files and writes camt.053
statements. Used by the demo and the end-to-end tests; pure files, no database.

What happens to each order is set by a scenario (options or a TOML/JSON file):

- ``reject_invalid_account``: an IBAN with a wrong checksum is rejected (the office never sends
  one, but a hand-made file might);
- ``known_haushaltsstellen``: if given, orders on any other Haushaltsstelle are rejected;
- ``receivables``: ``full``, ``partial``, ``none`` or ``random`` (seeded, so deterministic), and
  per Kassenzeichen overrides in ``[kassenzeichen]``; ``partial_percent`` says how much;
- payouts are executed on their due date: an order due after ``--today`` waits in the
  simulator's state (``.simulator/state.json`` in the outbox) for a later run.

Processed transfer files are moved to ``abgeholt/`` in the outbox, as the treasury's software
collects them.
"""

from __future__ import annotations

import json
import random
import shutil
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from ihv import codes
from ihv.transfer import format as fmt
from ihv.transfer import sepa

RECEIVABLE_MODES = ("full", "partial", "none", "random")
PICKED_UP = "abgeholt"
STATE_DIR = ".simulator"
TREASURY_ID = "LFF"
TREASURY_NAME = "Landesamt fuer Finanzen (Simulator)"


class ScenarioError(ValueError):
    """The scenario file or options are wrong."""


@dataclass
class Scenario:
    reject_invalid_account: bool = True
    known_haushaltsstellen: list[str] = field(default_factory=list)
    receivables: str = "full"
    partial_percent: int = 50
    seed: int = 1
    kassenzeichen: dict[str, str] = field(default_factory=dict)

    def check(self) -> Scenario:
        modes = [self.receivables, *self.kassenzeichen.values()]
        for mode in modes:
            if mode not in RECEIVABLE_MODES:
                raise ScenarioError(f"receivables must be one of {', '.join(RECEIVABLE_MODES)}, "
                                    f"got {mode!r}")
        if not 1 <= self.partial_percent <= 99:
            raise ScenarioError("partial_percent must be between 1 and 99")
        self.known_haushaltsstellen = [codes.normalise_haushaltsstelle(h)
                                       for h in self.known_haushaltsstellen]
        self.kassenzeichen = {codes.normalise_kassenzeichen(k): v
                              for k, v in self.kassenzeichen.items()}
        return self


def load_scenario(path: Path | None, **overrides: Any) -> Scenario:
    data: dict[str, Any] = {}
    if path is not None:
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            raise ScenarioError(f"{path.name}: {error}") from None
        unknown = set(data) - set(Scenario.__dataclass_fields__)
        if unknown:
            raise ScenarioError(f"{path.name}: unknown keys {', '.join(sorted(unknown))}")
    data.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return Scenario(**data).check()
    except (TypeError, ValueError) as error:
        raise ScenarioError(str(error)) from None


@dataclass
class PendingPayment:
    order_id: int
    kassenzeichen: str
    direction: str
    amount_cents: int
    due_date: str
    party_name: str
    purpose: str


@dataclass
class SimulatorState:
    seen: dict[str, str] = field(default_factory=dict)  # transfer sequence -> sha256
    ack_sequence: int = 0
    booking_sequence: int = 0
    booking_counter: int = 0
    pending: list[PendingPayment] = field(default_factory=list)


@dataclass
class SimulationReport:
    transfers: list[str] = field(default_factory=list)
    refused_files: list[tuple[str, str]] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    bookings: int = 0
    waiting: int = 0
    written: list[str] = field(default_factory=list)


def _state_path(outbox: Path) -> Path:
    return outbox / STATE_DIR / "state.json"


def _load_state(outbox: Path) -> SimulatorState:
    path = _state_path(outbox)
    if not path.exists():
        return SimulatorState()
    data = json.loads(path.read_text())
    data["pending"] = [PendingPayment(**item) for item in data.get("pending", [])]
    return SimulatorState(**data)


def _save_state(outbox: Path, state: SimulatorState) -> None:
    path = _state_path(outbox)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(state), indent=1))
    temp.replace(path)


def _valid_iban(text: str | None) -> bool:
    try:
        IBAN(text or "")
    except SchwiftyException:
        return False
    return True


def _decide(order: fmt.OrderRecord, scenario: Scenario) -> str | None:
    """The treasury's rejection reason for ``order`` (German, as its own texts), or None."""
    needs_account = order.iban is not None or order.direction == "auszahlung"
    if scenario.reject_invalid_account and needs_account and not _valid_iban(order.iban):
        return "Ungültige Bankverbindung (IBAN-Prüfziffer falsch)"
    if scenario.known_haushaltsstellen and (
            order.haushaltsstelle not in scenario.known_haushaltsstellen):
        return f"Haushaltsstelle {order.haushaltsstelle} unbekannt"
    return None


def _paid_cents(pending: PendingPayment, scenario: Scenario, rng: random.Random) -> int:
    if pending.direction == "auszahlung":
        return pending.amount_cents  # the treasury pays out what was ordered
    mode = scenario.kassenzeichen.get(pending.kassenzeichen, scenario.receivables)
    if mode == "random":
        mode = rng.choice(("full", "full", "partial", "none"))
    if mode == "full":
        return pending.amount_cents
    if mode == "partial":
        return max(1, pending.amount_cents * scenario.partial_percent // 100)
    return 0


def simulate(outbox: Path, inbox: Path, *, scenario: Scenario, today: date,
             adapter: str = "ihv-xml", now: datetime | None = None) -> SimulationReport:
    outbox.mkdir(parents=True, exist_ok=True)
    inbox.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    state = _load_state(outbox)
    report = SimulationReport()
    rng = random.Random(f"{scenario.seed}-{today.isoformat()}")  # noqa: S311 - a simulation
    for path in sorted(outbox.glob("*.xml")):
        if adapter == "sepa":
            _take_pain001(path, state, report)
        else:
            _take_transfer(path, inbox, scenario, state, report, now)
        (outbox / PICKED_UP).mkdir(exist_ok=True)
        shutil.move(str(path), outbox / PICKED_UP / path.name)
    _write_bookings(inbox, scenario, state, report, today, rng, now, adapter)
    report.waiting = len(state.pending)
    _save_state(outbox, state)
    return report


def _take_transfer(path: Path, inbox: Path, scenario: Scenario, state: SimulatorState,
                   report: SimulationReport, now: datetime) -> None:
    sha = sepa_sha(path)
    try:
        validated = fmt.validate_file(path, fmt.TRANSFER)
    except fmt.FormatError as error:
        report.refused_files.append((path.name, str(error)))
        return
    sequence = str(validated.header.sequence_number)
    if sequence in state.seen:
        if state.seen[sequence] != sha:
            report.refused_files.append((path.name, f"sequence number {sequence} seen before "
                                                    "with different content"))
        return  # the same file delivered twice: taken once
    state.seen[sequence] = sha
    acks: list[fmt.AckRecord] = []
    for order in fmt.iter_orders(path):
        reason = _decide(order, scenario)
        acks.append(fmt.AckRecord(order.order_id, order.kassenzeichen, order.amount_cents,
                                  reason is None, reason))
        if reason is None:
            report.accepted += 1
            state.pending.append(PendingPayment(order.order_id, order.kassenzeichen,
                                                order.direction, order.amount_cents,
                                                order.due_date.isoformat(), order.party_name,
                                                order.purpose))
        else:
            report.rejected += 1
    state.ack_sequence += 1
    header = fmt.Header(TREASURY_ID, TREASURY_NAME, state.ack_sequence, now, len(acks),
                        sum(a.amount_cents for a in acks))
    name = f"LFF-QUITTUNG-{state.ack_sequence:08d}.xml"
    _write_atomically(inbox / name, lambda handle: fmt.write_acknowledgement(
        handle, header, validated.header.sequence_number, acks))
    report.transfers.append(path.name)
    report.written.append(name)


def _take_pain001(path: Path, state: SimulatorState, report: SimulationReport) -> None:
    sha = sepa_sha(path)
    try:
        fmt.refuse_dtd(path)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        data = path.read_bytes()
        sepa.validate_pain001(data)
        document = etree.fromstring(data, parser)
    except (fmt.FormatError, etree.XMLSyntaxError) as error:
        report.refused_files.append((path.name, str(error)))
        return
    ns = {"p": sepa.PAIN_NS}
    message_id = document.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=ns) or sha
    if message_id in state.seen:
        return
    state.seen[message_id] = sha
    for info in document.iterfind("p:CstmrCdtTrfInitn/p:PmtInf", namespaces=ns):
        execution = info.findtext("p:ReqdExctnDt/p:Dt", namespaces=ns) or ""
        for tx in info.iterfind("p:CdtTrfTxInf", namespaces=ns):
            end_to_end = tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns) or ""
            amount = tx.findtext("p:Amt/p:InstdAmt", namespaces=ns) or "0"
            euros, _, cents = amount.partition(".")
            state.pending.append(PendingPayment(
                0, end_to_end.split("-")[0], "auszahlung", int(euros) * 100 + int(
                    (cents + "00")[:2]), execution,
                tx.findtext("p:Cdtr/p:Nm", namespaces=ns) or "",
                tx.findtext("p:RmtInf/p:Ustrd", namespaces=ns) or end_to_end))
            report.accepted += 1
    report.transfers.append(path.name)


def sepa_sha(path: Path) -> str:
    from ihv.transfer.transport import file_sha256

    return file_sha256(path)


def _write_bookings(inbox: Path, scenario: Scenario, state: SimulatorState,
                    report: SimulationReport, today: date, rng: random.Random, now: datetime,
                    adapter: str) -> None:
    due = [p for p in state.pending if date.fromisoformat(p.due_date) <= today]
    if not due:
        return
    state.pending = [p for p in state.pending if date.fromisoformat(p.due_date) > today]
    records: list[fmt.BookingRecord] = []
    for pending in due:
        paid = _paid_cents(pending, scenario, rng)
        if paid <= 0:
            continue
        state.booking_counter += 1
        records.append(fmt.BookingRecord(
            reference=f"LFF-{today:%Y%m%d}-{state.booking_counter:08d}",
            kassenzeichen=pending.kassenzeichen, direction=pending.direction, amount_cents=paid,
            booking_date=date.fromisoformat(pending.due_date), counterparty=pending.party_name,
            purpose=pending.purpose))
    if not records:
        return
    state.booking_sequence += 1
    report.bookings += len(records)
    if adapter == "sepa":
        name = f"BANK-CAMT053-{state.booking_sequence:08d}.xml"
        entries = [sepa.CamtEntry(r.reference, r.direction == "annahme", r.amount_cents,
                                  r.booking_date, r.purpose, r.kassenzeichen, r.counterparty)
                   for r in records]
        sepa.write_camt053(inbox / f".{name}", entries, account_iban="DE02120300000000202051",
                           statement_id=f"STMT-{state.booking_sequence:08d}",
                           sequence_number=state.booking_sequence, created=now)
        (inbox / f".{name}").replace(inbox / name)
    else:
        name = f"LFF-IST-{state.booking_sequence:08d}.xml"
        header = fmt.Header(TREASURY_ID, TREASURY_NAME, state.booking_sequence, now,
                            len(records), sum(r.amount_cents for r in records))
        _write_atomically(inbox / name, lambda handle: fmt.write_bookings(handle, header,
                                                                          records))
    report.written.append(name)


def _write_atomically(path: Path, write: Any) -> None:
    # The office's receive must never pick up a half-written file.
    temp = path.with_name(f".{path.name}.part")
    with temp.open("wb") as handle:
        write(handle)
    temp.replace(path)
