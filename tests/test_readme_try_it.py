"""The README's "Try it" snippet, run as written (bash, curl, python3) against a live hub with
the demo set-up `make run` makes: no literal ids to fill in, every step answers. And its Security
section, which says what a deployer must set."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from hub.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
README = Path(__file__).resolve().parent.parent / "README.md"


def try_it_snippet() -> str:
    section = README.read_text().split("## Try it", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, flags=re.S).group(1)


def test_the_snippet_has_nothing_to_fill_in():
    snippet = try_it_snippet()
    assert "/N/" not in snippet and '"endpoint": 5' not in snippet
    assert "HUB=http://127.0.0.1:8000" in snippet


@pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("curl") and shutil.which("python3")),
    reason="the snippet needs bash, curl and python3",
)
def test_the_snippet_runs_as_written(live_server, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    call_command("bootstrap_hub", stdout=io.StringIO())
    snippet = try_it_snippet().replace("http://127.0.0.1:8000", live_server.url)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", snippet],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # The output ends with the timeline (after the reply's JSON, with no newline between).
    timeline = json.loads(done.stdout[done.stdout.rindex('{"next"') :])
    texts = [m["text"] for m in timeline["results"]]
    assert texts == ["Ciao, perché il mio ordine è in ritardo?", "Ciao Mario, controllo subito."]
    reply = Message.objects.get(direction="out")
    assert reply.endpoint.channel == "api" and reply.delivery_status == "sent"


def test_the_security_section_says_what_a_deployer_must_set():
    section = README.read_text().split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
    for setting in (
        "SECRET_KEY",
        "ANYMAIL_WEBHOOK_SECRET",
        "TWILIO_AUTH_TOKEN",
        "ALLOWED_HOSTS",
        "HUB_PUBLIC_URL",
        "X-Forwarded-Proto",
        "FORWARDED_ALLOW_IPS",
        "SECURE_COOKIES",
    ):
        assert setting in section, setting
    for door in ("Token", "X-Twilio-Signature", "Basic auth", "visitor token", "django-axes"):
        assert door in section, door
