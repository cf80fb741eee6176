"""The application factory: the composition root of Amtsweg."""

from __future__ import annotations

import importlib
import time
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

from amtsweg import errors, field_html, i18n, navigation, security, sessions, uploads
from amtsweg.config import PROJECT_ROOT, Settings, load_settings
from amtsweg.extensions import babel, csrf, db, limiter, migrate
from amtsweg.request import AmtswegRequest

# Every module that defines tables. Imported when this module loads, so the metadata is complete
# wherever the app is built (Alembic autogenerate, the test schema, `db.create_all`) and not
# only once the blueprints that happen to use a model are registered.
MODEL_MODULES = (
    "amtsweg.audit.models",
    "amtsweg.citizens.models",
    "amtsweg.mail_models",
    "amtsweg.office.models",
    "amtsweg.postbox.models",
    "amtsweg.staff.models",
    "storage.models",
    "backoffice.models",
    "backoffice.decisions.models",
    "backoffice.retention",
    "ihv.models",
    "backoffice.uvg.models",
    "backoffice.uvg.payment_models",
    "backoffice.uvg.recovery_models",
    "clearing.models",
    "clearing.rules",
    "portal.models",
)
for _module in MODEL_MODULES:
    importlib.import_module(_module)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for one surface (portal, staff or both) from validated settings."""
    settings = settings or load_settings()
    app = Flask(
        "amtsweg",
        root_path=str(PROJECT_ROOT),
        template_folder="templates",
        static_folder="static",
        instance_path=str(settings.instance_path),
    )
    app.request_class = AmtswegRequest
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    _apply_flask_config(app, settings)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _ping_when_idle(db.engine)
        else:
            _enforce_foreign_keys(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    uploads.init_app(app)  # before CSRF, which reads the body first
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   default_translation_directories=str(PROJECT_ROOT / "translations"))
    limiter.init_app(app)

    _init_services(app, settings)
    security.init_app(app)
    sessions.init_app(app)
    navigation.init_app(app)
    i18n.init_app(app)
    app.jinja_env.globals["render_field"] = field_html.render_field
    errors.init_app(app)
    _register_blueprints(app, settings)
    return app


def _apply_flask_config(app: Flask, settings: Settings) -> None:
    app.config.update(
        AMTSWEG=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        # A multipart body above the limit is refused before it is read (413).
        MAX_CONTENT_LENGTH=uploads.body_limit(settings),
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        SESSION_COOKIE_NAME="amtsweg_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which expires on idle
        BABEL_DEFAULT_LOCALE="de",
        BABEL_DEFAULT_TIMEZONE="Europe/Berlin",
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        RATELIMIT_HEADERS_ENABLED=False,
        TESTING=settings.environment == "test",
    )


def _engine_options(url: str) -> dict[str, object]:
    if url.startswith("sqlite"):
        # Several gunicorn threads share one file: wait for the writer instead of failing.
        return {"connect_args": {"timeout": 15}}
    # Recover without restart after the database went away: see _ping_when_idle.
    return {"pool_recycle": 1800}


def _enforce_foreign_keys(engine: Engine) -> None:
    """Make SQLite check foreign keys and carry out their ON DELETE rules, as PostgreSQL does.

    SQLite ignores both unless each connection asks (``PRAGMA foreign_keys``, off by default):
    on the embedded setup a reference to a missing row was stored silently and a deleted row's
    CASCADE and SET NULL were never carried out.
    """

    def switch_on(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    event.listen(engine, "connect", switch_on)


# A connection back in use within this many seconds is taken as alive: pinging each checkout
# (pool_pre_ping) cost every request a round trip, and a submission three.
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle for a while.

    A connection the database dropped while idle (restart, failover, idle timeout) is replaced
    before a request uses it. One dropped while busy fails its statement; SQLAlchemy then sees
    the disconnect and renews the whole pool, so the app recovers without a restart either way.
    """

    def remember_idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool throws this connection away and checks out another.
            raise DisconnectionError(type(error).__name__) from error

    event.listen(engine, "checkin", remember_idle_since)
    event.listen(engine, "checkout", ping_if_idle)


def _init_services(app: Flask, settings: Settings) -> None:
    from amtsweg import mail
    from amtsweg.audit.services import install_session_hooks
    from backoffice.services import register_receipt_source
    from portal.services import receipt_document_id_of_eingang
    from storage import blobstore

    install_session_hooks()
    mail.init_app(app, settings)
    blobstore.init_app(app, settings)
    # On every surface: the staff side files a portal receipt when it routes the item to a case.
    register_receipt_source(receipt_document_id_of_eingang)


def _register_blueprints(app: Flask, settings: Settings) -> None:
    from amtsweg import assets, health, home
    from amtsweg.audit.views import bp as audit_bp
    from amtsweg.citizens.views import bp as citizens_bp
    from amtsweg.staff.views import admin_bp, staff_auth_bp

    app.register_blueprint(assets.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(i18n.bp)
    if settings.surface in {"portal", "all"}:
        from portal.uvg.views import bp as uvg_antrag_bp
        from portal.views import bp as portal_bp

        app.register_blueprint(citizens_bp)
        app.register_blueprint(portal_bp)
        app.register_blueprint(uvg_antrag_bp)
    if settings.surface in {"staff", "all"}:
        from amtsweg.office.views import bp as office_bp
        from backoffice.decisions.views import bp as decisions_bp
        from backoffice.uvg.calculator_views import bp as uvg_calculator_bp
        from backoffice.views import bp as backoffice_bp
        from clearing.views import bp as clearing_bp

        app.register_blueprint(staff_auth_bp)
        app.register_blueprint(clearing_bp)
        app.register_blueprint(backoffice_bp)
        app.register_blueprint(decisions_bp)
        app.register_blueprint(uvg_calculator_bp)
        from backoffice.uvg.recovery_views import bp as uvg_recovery_bp

        app.register_blueprint(uvg_recovery_bp)
        from backoffice.uvg.views import bp as uvg_case_bp

        app.register_blueprint(uvg_case_bp)
        app.register_blueprint(office_bp)
        app.register_blueprint(admin_bp)
        app.register_blueprint(audit_bp)
        from backoffice.payments import bp as case_payments_bp
        from ihv.views import bp as ihv_bp

        app.register_blueprint(ihv_bp)
        from ihv.transfer.views import bp as ihv_transfers_bp

        app.register_blueprint(ihv_transfers_bp)
        app.register_blueprint(case_payments_bp)
        from reports.views import bp as reports_bp

        app.register_blueprint(reports_bp)
