"""Extensions, created once here and bound to the app in ``create_app`` in a fixed order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import any_, bindparam
from sqlalchemy.dialects import postgresql

from amtsweg.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def among(column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``: one parameter whatever the
    count, so the statement's text stays the same and the driver prepares it once, instead of
    a new IN list (and a new statement to parse and plan) for every length."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))


def commit_keeping_loaded() -> None:
    """Commit, but keep the values this request wrote and read instead of expiring them.

    After a plain commit the next attribute access reloads the whole row (for a draft that is
    its answers, the largest column), only to build the redirect from values the request has
    just written itself. Use it where nothing else writes the rows between the flush and the
    redirect; columns the database fills in (server defaults) are not loaded and still load on
    first access.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
