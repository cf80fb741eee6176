"""Every table is known as soon as the app module is imported (not only after blueprints load)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import amtsweg.app
from amtsweg.db import Base
import pathlib, re
root = pathlib.Path(".")
declared = set()
for path in root.glob("*/**/*.py"):
    if path.parts[0] in {"tests", "bench", "migrations", ".venv", "node_modules"}:
        continue
    declared |= set(re.findall(r'__tablename__ = "([a-z_]+)"', path.read_text()))
missing = declared - set(Base.metadata.tables)
print(sorted(missing))
"""


def test_importing_the_app_module_registers_every_table() -> None:
    # A fresh interpreter: inside the test run other imports would hide a missing one.
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"
