"""What ihv tells the packages above it, which it may not import (backoffice, Fachbereich modules).

Receivers run inside the sender's transaction: what they write commits or rolls back with it.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent with the order as sender and ``old``/``new`` (OrderStatus) as keywords.
order_state_changed = _signals.signal("ihv.order-state-changed")

# Sent with the booking as sender and ``order`` as keyword, after the booking was applied.
booking_matched = _signals.signal("ihv.booking-matched")
