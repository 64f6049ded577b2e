"""Anymail's webhook URLs never accept an unauthenticated request: with no ANYMAIL_WEBHOOK_SECRET
(and no ESP signature key standing in for it) every inbound and tracking URL answers 503 with
the reason, stores nothing, and a system check warns at start. An ESP that needs a signing key
which is not set answers the same instead of a 500. ``make run`` (bootstrap_hub) generates a
secret once for the demo."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from anymail import urls as anymail_urls
from django.core import checks
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import resolve
from django.urls.resolvers import RoutePattern

from channels_email.models import QuarantinedEmail
from hub.models import Message
from tests.anymail_replay import replay
from tests.email_corpus import anymail_captures, load_json

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
CAPTURES = {f"{p.parent.name}/{p.stem}": load_json(p) for p in anymail_captures()}


def _webhook_paths() -> list[str]:
    """Every URL the project mounts under /anymail/ (the captures give Mailgun's two spellings
    of its one regex URL); checked to cover every Anymail URL pattern."""
    paths = {
        f"/anymail/{p.pattern}"
        for p in anymail_urls.urlpatterns
        if isinstance(p.pattern, RoutePattern)
    }
    paths |= {c["anymail_url_path"] for c in CAPTURES.values()}
    return sorted(paths)


PATHS = _webhook_paths()


def test_the_paths_cover_every_anymail_url():
    names = {resolve(path).url_name for path in PATHS}
    assert names == {p.name for p in anymail_urls.urlpatterns}


def _capture_for(path: str) -> dict | None:
    accepted = [c for c in CAPTURES.values() if c["anymail_url_path"] == path]
    accepted.sort(key=lambda c: c.get("response_status") != 200)
    return accepted[0] if accepted else None


@pytest.mark.parametrize("path", PATHS)
def test_without_a_webhook_secret_every_url_refuses_and_stores_nothing(path, endpoint_for):
    endpoint_for("email", address="test@inbound.example.com")
    client = Client(raise_request_exception=False)
    capture = _capture_for(path)
    with override_settings(ANYMAIL={}):
        if capture:
            response = replay(client, capture)
        else:
            response = client.post(path, json.dumps({"event": "delivered"}), "application/json")
        head = client.head(path)
    assert response.status_code == 503, (path, response.status_code, response.content[:300])
    assert b"ANYMAIL_WEBHOOK_SECRET" in response.content
    assert head.status_code == 503
    assert not Message.objects.exists() and not QuarantinedEmail.objects.exists()


@pytest.mark.parametrize(
    "name, setting",
    [
        ("mailgun/test_inbound_basics", "MAILGUN_WEBHOOK_SIGNING_KEY"),
        ("mailersend/test_inbound", "MAILERSEND_INBOUND_SECRET"),
        ("mandrill/test_inbound_basics", "MANDRILL_WEBHOOK_KEY"),
        ("postal/test_inbound_basics", "POSTAL_WEBHOOK_KEY"),
    ],
)
def test_an_esp_without_its_signing_key_answers_503_not_500(name, setting, endpoint_for):
    endpoint_for("email", address="test@inbound.example.com")
    capture = dict(CAPTURES[name])
    capture["client_defaults"] = {
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"username:password").decode()
    }
    with override_settings(ANYMAIL={"WEBHOOK_SECRET": "username:password"}):
        response = replay(Client(raise_request_exception=False), capture)
    assert response.status_code == 503, response.content[:300]
    assert setting.encode() in response.content
    assert not Message.objects.exists() and not QuarantinedEmail.objects.exists()


def test_a_signature_key_alone_still_authenticates(endpoint_for):
    """Postal signs its webhooks: with its key set, no basic auth is needed (as upstream)."""
    endpoint_for("email", address="test@inbound.example.com")
    capture = CAPTURES["postal/test_inbound_basics"]
    with override_settings(**capture["anymail_settings_in_effect"]):
        assert "WEBHOOK_SECRET" not in capture["anymail_settings_in_effect"]["ANYMAIL"]
        response = replay(Client(), capture)
    assert response.status_code == 200
    assert Message.objects.filter(direction="in").count() == 1


def test_system_check_warns_without_a_webhook_secret(settings):
    settings.ANYMAIL = {}
    warnings = [m for m in checks.run_checks() if m.id == "channels_email.W001"]
    assert len(warnings) == 1 and "ANYMAIL_WEBHOOK_SECRET" in warnings[0].msg
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}
    assert not [m for m in checks.run_checks() if m.id == "channels_email.W001"]


def test_bootstrap_generates_the_demo_webhook_secret_once(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    settings.ANYMAIL = {}
    call_command("bootstrap_hub")
    secret = (tmp_path / "anymail-webhook-secret").read_text().strip()
    user, _, password = secret.partition(":")
    assert user and len(password) >= 20
    call_command("bootstrap_hub")
    assert (tmp_path / "anymail-webhook-secret").read_text().strip() == secret
    assert secret in capsys.readouterr().out
    assert (tmp_path / "anymail-webhook-secret").stat().st_mode & 0o077 == 0


def test_make_run_makes_the_secret_before_migrate_runs_the_checks(settings, tmp_path):
    """`make run` generates it first (no database needed), so no process starts without it."""
    settings.VAR_DIR = tmp_path
    settings.ANYMAIL = {}
    call_command("bootstrap_hub", "--webhook-secret-only", stdout=io.StringIO())
    assert (tmp_path / "anymail-webhook-secret").read_text().startswith("hub:")
    makefile = (ROOT / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1]
    assert run.index("bootstrap_hub --webhook-secret-only") < run.index("manage.py migrate")


def test_bootstrap_leaves_a_configured_secret_alone(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    settings.ANYMAIL = {"WEBHOOK_SECRET": "deployer:chosen"}
    call_command("bootstrap_hub")
    assert not (tmp_path / "anymail-webhook-secret").exists()
    assert "deployer:chosen" not in capsys.readouterr().out


def _anymail_settings(var_dir: Path, **env: str) -> dict:
    """``ANYMAIL`` as config/settings.py builds it (every process: web, worker, beat)."""
    script = (
        "import json, runpy; s = runpy.run_path('config/settings.py');"
        "print(json.dumps(s['ANYMAIL']))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANYMAIL_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "HUB_VAR_DIR": str(var_dir), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_settings_read_the_generated_secret_unless_the_environment_sets_one(tmp_path):
    assert "WEBHOOK_SECRET" not in _anymail_settings(tmp_path)
    (tmp_path / "anymail-webhook-secret").write_text("hub:generated\n")
    assert _anymail_settings(tmp_path)["WEBHOOK_SECRET"] == "hub:generated"
    chosen = _anymail_settings(tmp_path, ANYMAIL_WEBHOOK_SECRET="ops:chosen")
    assert chosen["WEBHOOK_SECRET"] == "ops:chosen"
