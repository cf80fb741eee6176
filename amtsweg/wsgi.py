"""WSGI entry point for gunicorn: ``gunicorn 'amtsweg.wsgi:app'``."""

from __future__ import annotations

import gc
import sys

from amtsweg.app import create_app
from amtsweg.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    print(f"amtsweg: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2) from None

# The ~200,000 objects the app holds from start-up (modules, mappers, forms, translations) live
# as long as the worker. Left in the collector's care, every full collection walked all of them
# again, a few times a minute under load; frozen, a collection looks only at what requests made.
gc.collect()
gc.freeze()
