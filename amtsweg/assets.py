"""Serve the KERN UX assets installed from npm, from our own origin (no CDN, no third party)."""

from __future__ import annotations

from flask import Blueprint, abort, send_from_directory
from flask.typing import ResponseReturnValue

from amtsweg.config import PROJECT_ROOT

KERN_DIST = PROJECT_ROOT / "node_modules" / "@kern-ux" / "native" / "dist"

bp = Blueprint("assets", __name__)


@bp.get("/assets/kern/<path:filename>")
def kern(filename: str) -> ResponseReturnValue:
    if not KERN_DIST.is_dir():
        # `make run` installs it; a missing install is an operator error worth a clear message.
        abort(503)
    return send_from_directory(KERN_DIST, filename, max_age=7 * 24 * 3600)
