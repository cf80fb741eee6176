"""Outgoing mail. (Filled in by the citizens work package.)"""

from __future__ import annotations

from flask import Flask

from amtsweg.config import Settings


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["amtsweg_mail_url"] = settings.mail_url


def check_connection(app: Flask) -> str:
    return str(app.extensions["amtsweg_mail_url"])
