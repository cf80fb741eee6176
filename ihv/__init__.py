"""ihv package."""
