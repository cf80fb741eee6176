from tests.amtsweg.mail.support import app_with, every_model_imported, smtp, smtp_server

__all__ = ["app_with", "every_model_imported", "smtp", "smtp_server"]
