"""The audit log page for admins and auditors. (Filled in by the staff work package.)"""

from __future__ import annotations

from flask import Blueprint

from amtsweg.sessions import guard_staff_blueprint

bp = Blueprint("audit", __name__, url_prefix="/intern/protokoll")
guard_staff_blueprint(bp)
