"""The IHV settings: defaults under the instance folder, and a clear line for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from amtsweg.config import ConfigError, load_settings


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"AMTSWEG_ENV": "test", "AMTSWEG_INSTANCE_PATH": str(tmp_path),
            "AMTSWEG_SECRET_KEY": "s" * 40, **extra}


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path))
    assert settings.ihv_outbox_dir == tmp_path.resolve() / "ihv" / "out"
    assert settings.ihv_inbox_dir == tmp_path.resolve() / "ihv" / "in"
    assert (settings.ihv_adapter, settings.ihv_sender_id) == ("ihv-xml", "0000")


def test_configured(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path, AMTSWEG_IHV_OUTBOX_DIR=str(tmp_path / "o"),
                                  AMTSWEG_IHV_INBOX_DIR=str(tmp_path / "i"),
                                  AMTSWEG_IHV_ADAPTER="sepa", AMTSWEG_IHV_SENDER_ID="BY4711"))
    assert settings.ihv_outbox_dir == (tmp_path / "o").resolve()
    assert (settings.ihv_adapter, settings.ihv_sender_id) == ("sepa", "BY4711")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("AMTSWEG_IHV_ADAPTER", "dtaus", "AMTSWEG_IHV_ADAPTER: must be one of ihv-xml, sepa"),
    ("AMTSWEG_IHV_SENDER_ID", "../x", "AMTSWEG_IHV_SENDER_ID: 1 to 20 letters or digits"),
    ("AMTSWEG_IHV_SENDER_ID", "1" * 21, "AMTSWEG_IHV_SENDER_ID"),
    ("AMTSWEG_IHV_OUTBOX_DIR", "FILE", "AMTSWEG_IHV_OUTBOX_DIR"),
])
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str,
                                      message: str) -> None:
    if value == "FILE":
        (tmp_path / "a-file").write_text("x")
        value = str(tmp_path / "a-file")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_settings(_env(tmp_path, **{name: value}))
