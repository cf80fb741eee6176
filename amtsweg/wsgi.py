"""WSGI entry point for gunicorn: ``gunicorn 'amtsweg.wsgi:app'``."""

from __future__ import annotations

import sys

from amtsweg.app import create_app
from amtsweg.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    print(f"amtsweg: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2) from None
