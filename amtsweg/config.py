"""Typed, frozen configuration read from ``AMTSWEG_*`` environment variables.

Every value is parsed and validated here, once, at start-up. A wrong value raises
:class:`ConfigError` whose message names the variable, so the operator sees one clear line.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"

Surface = Literal["portal", "staff", "all"]
Environment = Literal["development", "production", "test"]


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class S3Location:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    secure: bool
    region: str | None


@dataclass(frozen=True)
class SmtpLocation:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    ssl: bool


@dataclass(frozen=True)
class Office:
    """The office's identity, shown on pages and printed on letters."""

    name: str = "Landratsamt Musterkreis – Kreisjugendamt und Amt für Soziales"
    short_name: str = "Landratsamt Musterkreis"
    street: str = "Am Landratsamt 1"
    postcode: str = "97437"
    city: str = "Musterstadt"
    phone: str = "09521 27-0"
    email: str = "poststelle@musterkreis.example"
    website: str = "https://www.musterkreis.example"


@dataclass(frozen=True)
class Settings:
    environment: Environment = "development"
    instance_path: Path = DEFAULT_INSTANCE
    database_url: str = ""
    storage_url: str = ""
    secret_key: str = field(default="", repr=False)
    surface: Surface = "all"
    mail_url: str = ""
    mail_sender: str = "Amtsweg <no-reply@musterkreis.example>"
    base_url: str = "http://127.0.0.1:5000"
    ratelimit_storage_url: str = "memory://"
    max_upload_bytes: int = 20 * 1024 * 1024
    staff_idle_minutes: int = 30
    citizen_idle_minutes: int = 20
    staff_totp_required: bool = False
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    secure_cookies: bool = False
    # Drafts of applications are deleted this many days after their last change, with a
    # reminder mail the given number of days before.
    draft_retention_days: int = 30
    draft_reminder_days: int = 7
    # clamd address (unix:///run/clamav/clamd.ctl or tcp://host:3310); empty: no virus scan.
    clamav_url: str = ""
    # The Land whose public holidays count when working days are counted (ISO 3166-2 code).
    holiday_state: str = "BY"
    office: Office = field(default_factory=Office)
    # IHV transfer: drop directories (out: files for the treasury; in: acknowledgements and IST
    # bookings, or camt.053 statements), the adapter, and the Dienststellennummer the treasury
    # assigned to this office (the sender id in every transfer header).
    ihv_outbox_dir: Path = DEFAULT_INSTANCE / "ihv" / "out"
    ihv_inbox_dir: Path = DEFAULT_INSTANCE / "ihv" / "in"
    ihv_adapter: Literal["ihv-xml", "sepa"] = "ihv-xml"
    ihv_sender_id: str = "0000"
    # Buchungsstellen of UVG money (Bavarian format "xx xx/xxx xx-x"). Placeholders until the
    # office sets its own: Einzelplan 10 (StMAS), Titel 681 for benefits to persons, 119 for
    # other receipts.
    uvg_haushaltsstelle_auszahlung: str = "10 07/681 01-5"
    uvg_haushaltsstelle_einnahme: str = "10 07/119 01-4"

    @property
    def max_upload_mb(self) -> int:
        return self.max_upload_bytes // (1024 * 1024)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def public_view(self) -> dict[str, Any]:
        """The resolved configuration with every secret masked, for ``amtsweg check``."""
        view = asdict(self)
        view["instance_path"] = str(self.instance_path)
        view["secret_key"] = "***" if self.secret_key else ""
        view["database_url"] = mask_url_password(self.database_url)
        view["storage_url"] = mask_url_password(self.storage_url)
        view["mail_url"] = mask_url_password(self.mail_url)
        view["ratelimit_storage_url"] = mask_url_password(self.ratelimit_storage_url)
        return view


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


# --- parsing helpers -------------------------------------------------------------------------


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}: must be between {minimum} and {maximum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or default
    if raw not in choices:
        raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def parse_s3_url(url: str, variable: str = "AMTSWEG_STORAGE_URL") -> S3Location:
    """Parse ``s3://KEY:SECRET@host:port/bucket[?secure=true&region=…]``."""
    parts = urlsplit(url)
    bucket = parts.path.strip("/")
    if not parts.hostname or not parts.username or parts.password is None or not bucket:
        raise ConfigError(f"{variable}: expected s3://KEY:SECRET@host:port/bucket, got a URL "
                          "without key, secret, host or bucket")
    if "/" in bucket:
        raise ConfigError(f"{variable}: the bucket name must not contain '/'")
    query = parse_qs(parts.query)
    secure_raw = query.get("secure", ["false"])[0].lower()
    if secure_raw not in {"true", "false"}:
        raise ConfigError(f"{variable}: secure= must be true or false")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{variable}: the port is not a number") from None
    endpoint = parts.hostname if port is None else f"{parts.hostname}:{port}"
    return S3Location(
        endpoint=endpoint,
        access_key=unquote(parts.username),
        secret_key=unquote(parts.password),
        bucket=bucket,
        secure=secure_raw == "true",
        region=query.get("region", [None])[0],
    )


def parse_smtp_url(url: str, variable: str = "AMTSWEG_MAIL_URL") -> SmtpLocation:
    """Parse ``smtp://[user:pass@]host[:port][?starttls=true]`` or ``smtps://…``."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"{variable}: the SMTP URL has no host")
    query = parse_qs(parts.query)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{variable}: the port is not a number") from None
    ssl = parts.scheme == "smtps"
    return SmtpLocation(
        host=parts.hostname,
        port=port or (465 if ssl else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=query.get("starttls", ["false"])[0].lower() == "true",
        ssl=ssl,
    )


def _database_url(env: Mapping[str, str], instance: Path) -> str:
    url = env.get("AMTSWEG_DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance / 'amtsweg.sqlite3'}"
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgres"):
        # SQLAlchemy needs the driver named; psycopg 3 is the one we ship.
        return "postgresql+psycopg://" + url.split("://", 1)[1] if "+" not in scheme else url
    if scheme.startswith("sqlite"):
        return url
    raise ConfigError(f"AMTSWEG_DATABASE_URL: only sqlite:/// and postgresql:// are supported, "
                      f"got scheme {scheme!r}")


def _storage_url(env: Mapping[str, str], instance: Path) -> str:
    url = env.get("AMTSWEG_STORAGE_URL", "").strip()
    if not url:
        return f"file://{instance / 'documents'}"
    scheme = urlsplit(url).scheme
    if scheme == "file":
        if not urlsplit(url).path:
            raise ConfigError("AMTSWEG_STORAGE_URL: a file:// URL needs a path")
        return url
    if scheme == "s3":
        parse_s3_url(url)
        return url
    raise ConfigError(f"AMTSWEG_STORAGE_URL: expected file:// or s3://, got scheme {scheme!r}")


def _mail_url(env: Mapping[str, str], instance: Path) -> str:
    url = env.get("AMTSWEG_MAIL_URL", "").strip()
    if not url:
        return f"file://{instance / 'mail'}"
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return url
    if scheme in {"smtp", "smtps"}:
        parse_smtp_url(url)
        return url
    raise ConfigError(f"AMTSWEG_MAIL_URL: expected file://, smtp:// or smtps://, got {scheme!r}")


def _secret_key(env: Mapping[str, str], instance: Path, environment: str) -> str:
    key = env.get("AMTSWEG_SECRET_KEY", "").strip()
    if key:
        if len(key) < 32:
            raise ConfigError("AMTSWEG_SECRET_KEY: must be at least 32 characters long")
        return key
    if environment == "production":
        raise ConfigError("AMTSWEG_SECRET_KEY: required in production (at least 32 characters)")
    # Local use only: one random key, created once and kept beside the database.
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _office(env: Mapping[str, str]) -> Office:
    defaults = Office()
    values = {
        name: env.get(f"AMTSWEG_OFFICE_{name.upper()}", "").strip() or getattr(defaults, name)
        for name in Office.__dataclass_fields__
    }
    return Office(**values)


def _ratelimit_url(env: Mapping[str, str]) -> str:
    url = env.get("AMTSWEG_RATELIMIT_URL", "").strip() or "memory://"
    if urlsplit(url).scheme not in {"memory", "redis", "rediss"}:
        raise ConfigError(f"AMTSWEG_RATELIMIT_URL: expected memory:// or redis://, got {url!r}")
    return url


GERMAN_STATES = ("BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL",
                 "SN", "ST", "TH")


def _clamav_url(env: Mapping[str, str]) -> str:
    url = env.get("AMTSWEG_CLAMAV_URL", "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme == "unix" and parts.path:
        return url
    if parts.scheme == "tcp" and parts.hostname:
        return url
    raise ConfigError(f"AMTSWEG_CLAMAV_URL: expected unix:///path/to/clamd.ctl or "
                      f"tcp://host:3310, got {url!r}")


def _directory(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    path = Path(raw)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name}: {raw!r} exists and is not a directory")
    return path.resolve()


# The canonical Bavarian Buchungsstelle: Kapitel (4) / Titel (5) - Prüfziffer, optional sub-part
# (EDVBK, DOMAIN.md §3). The treasury checks the Prüfziffer; here only the form.
_BUCHUNGSSTELLE = re.compile(r"\d{2} \d{2}/\d{3} \d{2}-\d( [A-Z0-9]{1,6})?", re.ASCII)


def _buchungsstelle(env: Mapping[str, str], name: str, default: str) -> str:
    raw = " ".join(env.get(name, "").split()) or default
    if not _BUCHUNGSSTELLE.fullmatch(raw):
        raise ConfigError(f"{name}: a Buchungsstelle like '10 07/681 01-5', got {raw!r}")
    return raw


def _ihv_sender_id(env: Mapping[str, str]) -> str:
    raw = env.get("AMTSWEG_IHV_SENDER_ID", "").strip() or "0000"
    # Printed into every transfer header; the XSD allows 1 to 20 letters and digits.
    if not raw.isascii() or not raw.isalnum() or len(raw) > 20:
        raise ConfigError(f"AMTSWEG_IHV_SENDER_ID: 1 to 20 letters or digits, got {raw!r}")
    return raw


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every ``AMTSWEG_*`` variable; raise :class:`ConfigError` on the first
    wrong one."""
    env = os.environ if environ is None else environ
    environment = _choice(env, "AMTSWEG_ENV", "development",
                          ("development", "production", "test"))
    instance = Path(env.get("AMTSWEG_INSTANCE_PATH", "").strip() or DEFAULT_INSTANCE).resolve()
    settings = Settings(
        environment=environment,  # type: ignore[arg-type]
        instance_path=instance,
        database_url=_database_url(env, instance),
        storage_url=_storage_url(env, instance),
        secret_key=_secret_key(env, instance, environment),
        surface=_choice(env, "AMTSWEG_SURFACE", "all",  # type: ignore[arg-type]
                        ("portal", "staff", "all")),
        mail_url=_mail_url(env, instance),
        mail_sender=env.get("AMTSWEG_MAIL_SENDER", "").strip() or Settings.mail_sender,
        base_url=(env.get("AMTSWEG_BASE_URL", "").strip() or Settings.base_url).rstrip("/"),
        ratelimit_storage_url=_ratelimit_url(env),
        max_upload_bytes=_int(env, "AMTSWEG_MAX_UPLOAD_MB", 20, 1, 500) * 1024 * 1024,
        staff_idle_minutes=_int(env, "AMTSWEG_STAFF_IDLE_MINUTES", 30, 1, 24 * 60),
        citizen_idle_minutes=_int(env, "AMTSWEG_CITIZEN_IDLE_MINUTES", 20, 1, 24 * 60),
        staff_totp_required=_bool(env, "AMTSWEG_STAFF_TOTP_REQUIRED", False),
        login_max_failures=_int(env, "AMTSWEG_LOGIN_MAX_FAILURES", 5, 1, 100),
        login_lock_minutes=_int(env, "AMTSWEG_LOGIN_LOCK_MINUTES", 15, 1, 24 * 60),
        secure_cookies=_bool(env, "AMTSWEG_SECURE_COOKIES", environment == "production"),
        draft_retention_days=_int(env, "AMTSWEG_DRAFT_RETENTION_DAYS", 30, 1, 365),
        draft_reminder_days=_int(env, "AMTSWEG_DRAFT_REMINDER_DAYS", 7, 0, 60),
        clamav_url=_clamav_url(env),
        holiday_state=_choice(env, "AMTSWEG_HOLIDAY_STATE", "BY", GERMAN_STATES),
        office=_office(env),
        ihv_outbox_dir=_directory(env, "AMTSWEG_IHV_OUTBOX_DIR", instance / "ihv" / "out"),
        ihv_inbox_dir=_directory(env, "AMTSWEG_IHV_INBOX_DIR", instance / "ihv" / "in"),
        ihv_adapter=_choice(env, "AMTSWEG_IHV_ADAPTER", "ihv-xml",  # type: ignore[arg-type]
                            ("ihv-xml", "sepa")),
        ihv_sender_id=_ihv_sender_id(env),
        uvg_haushaltsstelle_auszahlung=_buchungsstelle(
            env, "AMTSWEG_UVG_HAUSHALTSSTELLE_AUSZAHLUNG", "10 07/681 01-5"),
        uvg_haushaltsstelle_einnahme=_buchungsstelle(
            env, "AMTSWEG_UVG_HAUSHALTSSTELLE_EINNAHME", "10 07/119 01-4"),
    )
    _check_production(settings)
    return settings


def _check_production(settings: Settings) -> None:
    if not settings.is_production:
        return
    if settings.mail_url.startswith("file://"):
        raise ConfigError("AMTSWEG_MAIL_URL: production needs smtp:// or smtps://, not the file "
                          "backend")
    if settings.database_url.startswith("sqlite"):
        raise ConfigError("AMTSWEG_DATABASE_URL: production needs PostgreSQL")
    if not settings.clamav_url:
        # Citizens upload files from anywhere; in production every file is scanned.
        raise ConfigError("AMTSWEG_CLAMAV_URL: production needs a virus scanner (clamd)")
