"""Citizen accounts. (Filled in by the citizens work package.)"""

from __future__ import annotations

from flask import Blueprint

from amtsweg.sessions import guard_citizen_blueprint

bp = Blueprint("citizens", __name__, url_prefix="/konto")


@bp.route("/anmelden", methods=["GET", "POST"])
def login() -> str:
    return "login"


@bp.route("/registrieren", methods=["GET", "POST"])
def register() -> str:
    return "register"


@bp.get("/")
def account() -> str:
    return "account"


@bp.post("/abmelden")
def logout() -> str:
    return "logout"


guard_citizen_blueprint(bp, public_endpoints=("login", "register"))
