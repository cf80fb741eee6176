"""The XML format on its own: written streamed, read back, checked against the XSD."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ihv.codes import make_kassenzeichen
from ihv.transfer import format as fmt

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _order(number: int, **changes: object) -> fmt.OrderRecord:
    values: dict[str, object] = {
        "order_id": number, "kassenzeichen": make_kassenzeichen(2026, number),
        "direction": "auszahlung", "amount_cents": 22_700, "due_date": date(2026, 3, 1),
        "haushaltsstelle": "70 55/101 38-1", "party_name": "Sabine Müller & Söhne <GbR>",
        "party_street": "Hauptstraße 1", "party_postcode": "97437", "party_city": "Haßfurt",
        "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
        "purpose": f"{make_kassenzeichen(2026, number)} UVG 03/2026"}
    values.update(changes)
    return fmt.OrderRecord(**values)  # type: ignore[arg-type]


def _write(tmp_path: Path, orders: list[fmt.OrderRecord]) -> Path:
    header = fmt.Header("0000", "Landratsamt Musterkreis", 3, NOW, len(orders),
                        sum(o.amount_cents for o in orders))
    path = tmp_path / "t.xml"
    with path.open("wb") as handle:
        fmt.write_transfer(handle, header, orders)
    return path


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    orders = [_order(1), _order(2, direction="annahme", iban=None, bic=None, party_street="",
                                replaces_order_id=1)]
    path = _write(tmp_path, orders)

    validated = fmt.validate_file(path, fmt.TRANSFER)

    assert validated.header.sequence_number == 3
    assert validated.header.count == 2
    assert validated.header.created_at == NOW
    assert list(fmt.iter_orders(path)) == orders


def test_acknowledgement_and_bookings_round_trip(tmp_path: Path) -> None:
    acks = [fmt.AckRecord(1, make_kassenzeichen(2026, 1), 100, True),
            fmt.AckRecord(2, make_kassenzeichen(2026, 2), 200, False, "Konto erloschen")]
    path = tmp_path / "a.xml"
    with path.open("wb") as handle:
        fmt.write_acknowledgement(handle, fmt.Header("LFF", "LfF", 1, NOW, 2, 300), 9, acks)
    assert fmt.validate_file(path).transfer_sequence_number == 9
    assert list(fmt.iter_acks(path)) == acks

    bookings = [fmt.BookingRecord("X1", "kz 2026 0000 0001 xx", "annahme", 5, date(2026, 1, 2),
                                  "Max", "Zweck")]
    path = tmp_path / "b.xml"
    with path.open("wb") as handle:
        fmt.write_bookings(handle, fmt.Header("LFF", "LfF", 1, NOW, 1, 5), bookings)
    assert fmt.validate_file(path, fmt.BOOKINGS).kind == fmt.BOOKINGS
    assert list(fmt.iter_bookings(path)) == bookings


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"kassenzeichen": "KZ123"}, "Kassenzeichen"),
    ({"haushaltsstelle": "7055-101"}, "Haushaltsstelle"),
    ({"iban": "de89 3704"}, "Iban"),
    ({"purpose": "x" * 141}, "Purpose"),
    ({"party_name": ""}, "Name"),
])
def test_schema_refuses_bad_records(tmp_path: Path, changes: dict[str, object],
                                    fragment: str) -> None:
    path = _write(tmp_path, [_order(1, **changes)])
    with pytest.raises(fmt.FormatError, match=fragment):
        fmt.validate_file(path)


def test_an_empty_transfer_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(fmt.FormatError):
        fmt.validate_file(_write(tmp_path, []))


def test_wrong_kind_expected(tmp_path: Path) -> None:
    with pytest.raises(fmt.FormatError, match="expected a Bookings file"):
        fmt.validate_file(_write(tmp_path, [_order(1)]), fmt.BOOKINGS)


def test_written_streamed_not_built_in_memory(tmp_path: Path) -> None:
    """The writer pulls records one by one: a generator is consumed lazily while writing."""
    pulled: list[int] = []
    buffer = io.BytesIO()
    sizes: list[int] = []

    def records():
        for number in range(1, 4):
            pulled.append(number)
            sizes.append(len(buffer.getvalue()))
            yield _order(number)

    fmt.write_transfer(buffer, fmt.Header("0", "A", 1, NOW, 3, 3 * 22_700), records())
    assert pulled == [1, 2, 3]
    assert sizes[0] < sizes[1] < sizes[2], "each record was written before the next was pulled"
