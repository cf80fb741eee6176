"""Configuration: defaults for the embedded setup, and one clear line for every wrong value."""

import subprocess
import sys
from pathlib import Path

import pytest

from amtsweg.config import ConfigError, load_settings, parse_s3_url

BASE = {"AMTSWEG_SECRET_KEY": "k" * 40}


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"AMTSWEG_INSTANCE_PATH": str(tmp_path), **BASE, **values}


def test_embedded_defaults_live_under_instance(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path))
    assert settings.database_url == f"sqlite:///{tmp_path / 'amtsweg.sqlite3'}"
    assert settings.storage_url == f"file://{tmp_path / 'documents'}"
    assert settings.mail_url == f"file://{tmp_path / 'mail'}"
    assert settings.surface == "all"
    assert settings.max_upload_mb == 20
    assert settings.ratelimit_storage_url == "memory://"


def test_secret_key_is_generated_once_for_local_use(tmp_path: Path) -> None:
    first = load_settings({"AMTSWEG_INSTANCE_PATH": str(tmp_path)})
    second = load_settings({"AMTSWEG_INSTANCE_PATH": str(tmp_path)})
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_requires_secret_postgres_and_smtp(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^AMTSWEG_SECRET_KEY: required in production"):
        load_settings({"AMTSWEG_INSTANCE_PATH": str(tmp_path), "AMTSWEG_ENV": "production"})
    with pytest.raises(ConfigError, match=r"^AMTSWEG_MAIL_URL"):
        load_settings(env(tmp_path, AMTSWEG_ENV="production",
                          AMTSWEG_DATABASE_URL="postgresql://u@db/amtsweg"))
    with pytest.raises(ConfigError, match=r"^AMTSWEG_DATABASE_URL"):
        load_settings(env(tmp_path, AMTSWEG_ENV="production", AMTSWEG_MAIL_URL="smtp://mail:25"))
    with pytest.raises(ConfigError, match=r"^AMTSWEG_CLAMAV_URL: production needs"):
        load_settings(env(tmp_path, AMTSWEG_ENV="production", AMTSWEG_MAIL_URL="smtp://mail:25",
                          AMTSWEG_DATABASE_URL="postgresql://u@db/amtsweg"))
    settings = load_settings(env(tmp_path, AMTSWEG_ENV="production",
                                 AMTSWEG_DATABASE_URL="postgresql://u@db/amtsweg",
                                 AMTSWEG_MAIL_URL="smtp://mail:587?starttls=true",
                                 AMTSWEG_CLAMAV_URL="unix:///run/clamav/clamd.ctl"))
    assert settings.database_url == "postgresql+psycopg://u@db/amtsweg"
    assert settings.secure_cookies is True


@pytest.mark.parametrize(("name", "value", "message"), [
    ("AMTSWEG_SURFACE", "intranet", "must be one of portal, staff, all"),
    ("AMTSWEG_ENV", "prod", "must be one of"),
    ("AMTSWEG_DATABASE_URL", "mysql://x/y", "only sqlite:/// and postgresql://"),
    ("AMTSWEG_STORAGE_URL", "ftp://x/y", "expected file:// or s3://"),
    ("AMTSWEG_STORAGE_URL", "s3://host:9000/bucket", "without key, secret, host or bucket"),
    ("AMTSWEG_STORAGE_URL", "s3://k:s@host:9000/", "without key, secret, host or bucket"),
    ("AMTSWEG_STORAGE_URL", "s3://k:s@host:9000/b?secure=maybe", "secure= must be true"),
    ("AMTSWEG_STORAGE_URL", "s3://k:s@host:port/b", "port is not a number"),
    ("AMTSWEG_MAIL_URL", "http://mail", "expected file://, smtp:// or smtps://"),
    ("AMTSWEG_MAIL_URL", "smtp://", "has no host"),
    ("AMTSWEG_MAX_UPLOAD_MB", "zwanzig", "expected a whole number"),
    ("AMTSWEG_MAX_UPLOAD_MB", "0", "between 1 and 500"),
    ("AMTSWEG_STAFF_IDLE_MINUTES", "-5", "between 1 and 1440"),
    ("AMTSWEG_STAFF_TOTP_REQUIRED", "vielleicht", "expected true or false"),
    ("AMTSWEG_SECRET_KEY", "short", "at least 32 characters"),
    ("AMTSWEG_RATELIMIT_URL", "memcached://x", "expected memory:// or redis://"),
    ("AMTSWEG_CLAMAV_URL", "clamd.ctl", "expected unix:///path/to/clamd.ctl or tcp://host:3310"),
    ("AMTSWEG_HOLIDAY_STATE", "Bayern", "must be one of BB, BE"),
    ("AMTSWEG_DRAFT_RETENTION_DAYS", "0", "between 1 and 365"),
])
def test_wrong_value_names_the_variable(tmp_path: Path, name: str, value: str,
                                        message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env(tmp_path, **{name: value}))
    assert str(raised.value).startswith(f"{name}: ")
    assert message in str(raised.value)


def test_s3_url_is_parsed_with_secure_switch() -> None:
    location = parse_s3_url("s3://KEY:se%2Fcret@minio.local:9000/akten?secure=true")
    assert (location.endpoint, location.access_key, location.secret_key, location.bucket,
            location.secure) == ("minio.local:9000", "KEY", "se/cret", "akten", True)


def test_public_view_masks_every_secret(tmp_path: Path) -> None:
    settings = load_settings(env(
        tmp_path,
        AMTSWEG_DATABASE_URL="postgresql://amtsweg:dbpass@db/amtsweg",
        AMTSWEG_STORAGE_URL="s3://KEY:s3pass@minio:9000/docs",
        AMTSWEG_MAIL_URL="smtp://user:mailpass@mail:587",
        AMTSWEG_RATELIMIT_URL="redis://:redispass@redis:6379/0",
    ))
    text = repr(settings.public_view())
    for secret in ("dbpass", "s3pass", "mailpass", "redispass", "k" * 40):
        assert secret not in text
    assert "***" in text
    assert "k" * 40 not in repr(settings)


def test_office_identity_comes_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path, AMTSWEG_OFFICE_SHORT_NAME="Landratsamt Haßberge",
                                 AMTSWEG_OFFICE_CITY="Haßfurt"))
    assert settings.office.short_name == "Landratsamt Haßberge"
    assert settings.office.city == "Haßfurt"


def test_cli_stops_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    amtsweg = Path(sys.executable).parent / "amtsweg"
    result = subprocess.run(
        [str(amtsweg), "check"], capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "AMTSWEG_INSTANCE_PATH": str(tmp_path),
             "AMTSWEG_SURFACE": "everything"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "amtsweg: configuration error: AMTSWEG_SURFACE: must be one of portal, staff, all, "
        "got 'everything'"]


def test_uvg_buchungsstellen_are_checked_at_start_up() -> None:
    settings = load_settings({"AMTSWEG_UVG_HAUSHALTSSTELLE_AUSZAHLUNG": " 10 07/681 02-3 "})
    assert settings.uvg_haushaltsstelle_auszahlung == "10 07/681 02-3"
    assert settings.uvg_haushaltsstelle_einnahme == "10 07/119 01-4"
    with pytest.raises(ConfigError, match="AMTSWEG_UVG_HAUSHALTSSTELLE_EINNAHME"):
        load_settings({"AMTSWEG_UVG_HAUSHALTSSTELLE_EINNAHME": "1007/11901"})
