"""The gunicorn entry point, loaded as gunicorn loads it: in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _load_wsgi(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script = ("import gc, amtsweg.wsgi as wsgi; "
              "print(type(wsgi.app).__name__, gc.get_freeze_count())")
    settings = {"AMTSWEG_DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.db'}",
                "AMTSWEG_INSTANCE_PATH": str(tmp_path / "instance"),
                "AMTSWEG_STORAGE_URL": f"file://{tmp_path / 'documents'}",
                "AMTSWEG_SECRET_KEY": "a-secret-key-for-this-test-only-0123456789"}
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AMTSWEG_")}
    return subprocess.run([sys.executable, "-c", script], env={**clean, **settings, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_app_is_built_and_its_start_up_objects_are_left_out_of_garbage_collection(
        tmp_path: Path) -> None:
    loaded = _load_wsgi(tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    kind, frozen = loaded.stdout.split()
    assert kind == "Flask"
    # Everything the app holds after start-up, not a handful of objects.
    assert int(frozen) > 50_000


def test_a_configuration_error_stops_the_worker_with_a_message_and_no_traceback(
        tmp_path: Path) -> None:
    loaded = _load_wsgi(tmp_path, AMTSWEG_MAX_UPLOAD_MB="lots")
    assert loaded.returncode == 2
    assert loaded.stderr.startswith("amtsweg: configuration error:")
    assert "Traceback" not in loaded.stderr
