"""``amtsweg uvg calc``: JSON as the issue specifies it; bad input exits 2 with one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from amtsweg.cli import main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["uvg", "calc", *args])


def calc_json(*args: str) -> dict[str, Any]:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_prints_months_in_whole_euros_and_the_total() -> None:
    # born 01.03.2019: Jan 2025 0-5 band, 227 - 100 = 127; Feb 2025 6-11 band (6th year
    # completed 28.02.2025), 299 - 100 = 199; Mar 199 -> total 525
    data = calc_json("--birth-date", "2019-03-01", "--from", "2025-01", "--to", "2025-03",
                     "--maintenance", "100")
    assert [(m["month"], m["amount"]) for m in data["months"]] == [
        ("2025-01", 127), ("2025-02", 199), ("2025-03", 199)]
    assert data["total"] == 525
    february = data["months"][1]
    assert february["age_band"] == "6-11"
    assert february["table_cents"] == 29900
    assert february["deductions"] == [
        {"kind": "maintenance", "cents": 10000, "legal_basis": "§ 2 Abs. 3 Nr. 1 UVG"}]
    assert february["paid_cents"] == 19900
    assert (february["days"], february["days_in_basis"]) == (30, 30)


def test_child_income_means_the_child_has_left_school() -> None:
    # born 15.01.2009, October 2025 (12-17 band, 394): trainee earning 600,
    # (600 - 102.50 - 100) / 2 = 198.75 deducted -> 195.25 -> 196; orphan benefits 0
    data = calc_json("--birth-date", "2009-01-15", "--from", "2025-10", "--to", "2025-10",
                     "--child-income", "600", "--trainee", "--orphan-benefit", "0")
    month = data["months"][0]
    assert month["amount"] == 196
    assert month["deductions"] == [
        {"kind": "child_income", "cents": 19875, "legal_basis": "§ 2 Abs. 4 UVG"}]


def test_application_date_limits_the_months_paid() -> None:
    # application 20.05.2025 -> nothing before April 2025 (§ 4 UVG)
    data = calc_json("--birth-date", "2021-04-10", "--from", "2025-02", "--to", "2025-05",
                     "--application-date", "2025-05-20")
    assert [m["amount"] for m in data["months"]] == [0, 0, 227, 227]
    assert data["total"] == 454
    assert "§ 4 UVG" in data["months"][0]["notes"][0]


def test_decimal_amounts_and_the_minimum_payment() -> None:
    # 227 - 222.50 = 4.50 -> rounded up to 5, paid; 227 - 225 = 2 -> not paid
    assert calc_json("--birth-date", "2021-04-10", "--from", "2025-05", "--to", "2025-05",
                     "--maintenance", "222.50")["total"] == 5
    assert calc_json("--birth-date", "2021-04-10", "--from", "2025-05", "--to", "2025-05",
                     "--maintenance", "225")["total"] == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--birth-date", "2099-01-01", "--from", "2025-01", "--to", "2025-03"],
     "The birth date lies in the future."),
    (["--birth-date", "2006-01-01", "--from", "2025-01", "--to", "2025-03"],
     "completed its 18th year of life before the period starts"),
    (["--birth-date", "2019-03-01", "--from", "2025-05", "--to", "2025-03"],
     "The period ends before it starts."),
    (["--birth-date", "2019-03-01", "--from", "2024-01", "--to", "2044-12"],
     "longer than 20 years"),
    (["--birth-date", "2019-03-01", "--from", "2023-01", "--to", "2024-03"],
     "No UVG amounts are known before 01/2024."),
    (["--birth-date", "2019-03-01", "--from", "2025-01", "--to", "2025-03",
      "--maintenance", "100001"], "more than 100,000 EUR a month is not plausible"),
    (["--birth-date", "2019-03-01", "--from", "2025-01", "--to", "2025-03",
      "--maintenance", "-5"], "must not be negative"),
    (["--birth-date", "2019-03-01", "--from", "2025-01", "--to", "2025-03",
      "--maintenance", "1,50"], "not an amount in euros"),
    (["--birth-date", "2019-03-01", "--from", "2025-01", "--to", "2025-03",
      "--orphan-benefit", "12.345"], "not an amount in euros"),
    (["--birth-date", "01.03.2019", "--from", "2025-01", "--to", "2025-03"],
     "not a date in the form YYYY-MM-DD"),
    (["--birth-date", "2019-02-30", "--from", "2025-01", "--to", "2025-03"],
     "not a date in the form YYYY-MM-DD"),
    (["--birth-date", "2019-03-01", "--from", "2025-13", "--to", "2025-03"],
     "not a month in the form YYYY-MM"),
    (["--birth-date", "2019-03-01", "--from", "2025-1", "--to", "2025-03"],
     "not a month in the form YYYY-MM"),
    (["--birth-date", "2019-03-01", "--from", "<script>", "--to", "2025-03"],
     "not a month in the form YYYY-MM"),
    (["--birth-date", "2019-03-01", "--from", "2025-01"], "Missing option '--to'"),
    (["--birth-date", "2019-03-01", "--from", "2025-01", "--to", "2025-03",
      "--application-date", "x" * 5000], "not a date in the form YYYY-MM-DD"),
])
def test_bad_input_exits_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "amtsweg"
    completed = subprocess.run(
        [str(command), "uvg", "calc", "--birth-date", "2099-01-01", "--from", "2025-01",
         "--to", "2025-02"], capture_output=True, text=True, cwd=tmp_path, check=False,
        timeout=60)
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        "amtsweg uvg calc: error: The birth date lies in the future.")
    assert completed.stdout == ""
