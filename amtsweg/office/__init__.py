"""The office's letter data (letterhead, bank, remedies), editable by admins."""
