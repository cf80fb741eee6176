"""``amtsweg staff …`` and ``amtsweg fachbereich …``."""

from __future__ import annotations

import click

staff_group = click.Group("staff", help="Manage staff accounts.")
fachbereich_group = click.Group("fachbereich", help="Manage Fachbereiche.")
