"""First-run set-up for ``make run``: a demo admin account (once), a team and one endpoint per
channel, so a new user can log in and try every path. Safe to run on every start."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from hub.models import Channel, Endpoint, Team

DEFAULT_ENDPOINTS = [
    ("Support mailbox", Channel.EMAIL, "support@hub.localhost"),
    ("Support SMS", Channel.SMS, "+390212345678"),
    ("Support WhatsApp", Channel.WHATSAPP, "+390212345679"),
    ("Website chat", Channel.CHAT, "website"),
    ("Integrations", Channel.API, "integrations"),
]


class Command(BaseCommand):
    help = "Create the demo admin (once), a default team and one endpoint per channel."
    # `make run` runs it right after `migrate`, which has run the system checks.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--webhook-secret-only",
            action="store_true",
            help="Only generate the demo's email webhook secret (no database needed): `make run` "
            "does this first, so that every process it starts reads the secret.",
        )

    def handle(self, *args, **options):
        if options["webhook_secret_only"]:
            self._webhook_secret(show=False)
            return
        User = get_user_model()
        credentials_file = settings.VAR_DIR / "demo-admin.txt"
        team, _ = Team.objects.get_or_create(slug="support", defaults={"name": "Support"})
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser("admin", "admin@hub.localhost", password)
            team.members.add(admin)
            token, _ = Token.objects.get_or_create(user=admin)
            credentials_file.write_text(
                f"username: admin\npassword: {password}\napi token: {token.key}\n"
            )
            credentials_file.chmod(0o600)
            self.stdout.write(self.style.SUCCESS("Created the demo admin account."))
        for name, channel, address in DEFAULT_ENDPOINTS:
            Endpoint.objects.get_or_create(
                channel=channel, address=address, defaults={"name": name, "team": team}
            )
        if credentials_file.exists():
            self.stdout.write(f"Demo admin ({credentials_file}):\n{credentials_file.read_text()}")
        self._webhook_secret()

    def _webhook_secret(self, *, show: bool = True) -> None:
        """Inbound email webhooks refuse every request without a basic-auth secret: the demo
        gets a random one, kept under var/ (config/settings.py reads it when
        ANYMAIL_WEBHOOK_SECRET is unset). A secret the deployer set is left alone, unprinted."""
        secret_file = settings.VAR_DIR / "anymail-webhook-secret"
        configured = (getattr(settings, "ANYMAIL", {}) or {}).get("WEBHOOK_SECRET")
        generated = secret_file.read_text().strip() if secret_file.exists() else None
        if configured and configured != generated:
            return
        if not generated:
            secret_file.write_text(f"hub:{secrets.token_urlsafe(24)}\n")
            secret_file.chmod(0o600)
        if not show:
            return
        secret = secret_file.read_text().strip()
        self.stdout.write(
            f"Inbound email webhooks ({secret_file}): basic auth {secret}, e.g.\n"
            f"  https://{secret}@<this hub's host>/anymail/postmark/inbound/\n"
        )
