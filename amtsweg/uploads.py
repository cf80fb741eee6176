"""Request body limits per view: one file's limit by default, more for forms with several files.

The app refuses a body above one file's limit (plus room for the form fields) before reading it,
so an oversized upload costs nothing and gets the 413 page. A view that takes several files says
so with :func:`accepts_files`; each file is still checked against the one-file limit on arrival.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request

from amtsweg.config import Settings

FORM_ALLOWANCE = 1024 * 1024  # the text fields around the files
V = TypeVar("V", bound=Callable[..., object])


def body_limit(settings: Settings, files: int = 1) -> int:
    return files * settings.max_upload_bytes + FORM_ALLOWANCE


def accepts_files(count: int) -> Callable[[V], V]:
    """Let a view's request body carry up to ``count`` files of the configured size."""

    def mark(view: V) -> V:
        view.amtsweg_max_files = count  # type: ignore[attr-defined]
        return view

    return mark


def _raise_limit_for_multi_file_views() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    count = getattr(view, "amtsweg_max_files", 1)
    if count > 1:
        settings: Settings = current_app.config["AMTSWEG"]
        request.max_content_length = body_limit(settings, count)


def init_app(app: Flask) -> None:
    """Register the hook; must run before CSRF protection, which is the first to read the body."""
    app.before_request(_raise_limit_for_multi_file_views)
