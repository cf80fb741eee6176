"""The front page: where a citizen starts, and where staff find their way in."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    if current_app.config["AMTSWEG"].surface == "staff":
        return redirect(url_for("staff_auth.login"))
    return render_template("home.html")
