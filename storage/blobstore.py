"""Document blob storage. (Filled in by the storage work package.)"""

from __future__ import annotations

from flask import Flask

from amtsweg.config import Settings


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["amtsweg_storage_url"] = settings.storage_url
