"""Citizen portal: account, service catalogue, applications, uploads, postbox (see DESIGN.md)."""
