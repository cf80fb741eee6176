"""Staff sign-in and the admin pages. (Filled in by the staff work package.)"""

from __future__ import annotations

from flask import Blueprint

from amtsweg.sessions import guard_staff_blueprint

staff_auth_bp = Blueprint("staff_auth", __name__, url_prefix="/intern")
admin_bp = Blueprint("admin", __name__, url_prefix="/intern/verwaltung")


@staff_auth_bp.route("/anmelden", methods=["GET", "POST"])
def login() -> str:
    return "login"


@staff_auth_bp.post("/abmelden")
def logout() -> str:
    return "logout"


guard_staff_blueprint(staff_auth_bp, public_endpoints=("login",))
guard_staff_blueprint(admin_bp)
