"""System checks of the email channel (``manage.py check`` and every start)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def anymail_webhook_secret(app_configs=None, **kwargs):
    anymail = getattr(settings, "ANYMAIL", {}) or {}
    secret = anymail.get("WEBHOOK_SECRET") or getattr(settings, "ANYMAIL_WEBHOOK_SECRET", None)
    if secret:
        return []
    return [
        checks.Warning(
            "ANYMAIL_WEBHOOK_SECRET is not set: the inbound and tracking email webhooks "
            "(/anymail/<esp>/...) answer 503, except those of ESPs whose signing key is set "
            "(Mailgun, MailerSend, Mandrill, Postal, Resend).",
            hint='Set ANYMAIL_WEBHOOK_SECRET="user:password" (a long random password) and give '
            "the ESP the webhook URL with those credentials: "
            "https://user:password@hub.example.com/anymail/<esp>/inbound/.",
            id="channels_email.W001",
        )
    ]
