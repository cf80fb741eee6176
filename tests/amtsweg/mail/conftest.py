from tests.amtsweg.mail.support import app_with, smtp, smtp_server

__all__ = ["app_with", "smtp", "smtp_server"]
