"""Signals of the citizen account, for packages above that keep their own citizen data.

``citizen_deleted`` is sent inside the deleting transaction, just before the account row goes:
receivers delete their own rows through ``db.session`` (portal drafts, documents …) and must not
commit, so the account and everything hanging on it disappear together or not at all.
Receivers get ``citizen_id`` and ``actor`` as keyword arguments; the sender is the app.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

citizen_deleted = _signals.signal("citizen-deleted")
