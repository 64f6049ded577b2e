"""Celery routing: each kind of work has its queue, so a flood of one cannot hold up another,
and the processes of every deployment (Procfile, Procfile.embedded, docker-compose.yml) consume
them all, webhooks in a pool of their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from config import queues
from config.celery import app

ROOT = Path(__file__).resolve().parent.parent
PREFIX = settings.HUB_CELERY_QUEUE_PREFIX

EXPECTED = {
    "hub.tasks.deliver_message": "replies",
    "hub.tasks.sla_sweep": "sla",
    "hub.tasks.deliver_webhook": "webhooks",
    "hub.tasks.requeue_stalled_deliveries": "maintenance",
    "hub.tasks.analyse_messages": "maintenance",
    "channels_sms.tasks.download_inbound_media": "media",
    "channels_chat.tasks.email_unseen_replies": "media",
}


@pytest.fixture(autouse=True, scope="module")
def _every_task_module():
    """The tasks modules of every installed app, as a worker's autodiscovery imports them."""
    import importlib
    import importlib.util

    from django.apps import apps

    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.tasks") is not None:
            importlib.import_module(f"{config.name}.tasks")


def resolved_queue(task_name: str) -> str:
    return app.amqp.router.route({}, task_name, (), {})["queue"].name


@pytest.mark.parametrize(("task_name", "kind"), EXPECTED.items())
def test_each_task_goes_to_its_queue(task_name, kind):
    assert task_name in app.tasks  # a real task of the project, not a stale name
    assert resolved_queue(task_name) == f"{PREFIX}.{kind}"


def test_every_task_of_the_project_is_routed():
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == set(EXPECTED)


def test_a_task_sent_through_the_broker_lands_in_its_queue(redis_server):
    """Sent for real (not eager) to the Redis broker: the reply is in the replies list."""
    import redis

    from hub.tasks import deliver_message, deliver_webhook
    from tests.live import route_to_queues

    prefix = "test-routing"
    client = redis.Redis.from_url(app.conf.broker_url)
    client.delete(*queues.names(prefix))
    app.conf.task_always_eager = False
    route_to_queues(prefix)
    try:
        deliver_message.delay(1)
        deliver_webhook.delay(2)
        deliver_webhook.delay(3)
        lengths = {name: client.llen(name) for name in queues.names(prefix)}
    finally:
        route_to_queues(None)
        app.conf.task_always_eager = True
        client.delete(*queues.names(prefix))
    assert lengths == {
        f"{prefix}.replies": 1,
        f"{prefix}.sla": 0,
        f"{prefix}.webhooks": 2,
        f"{prefix}.media": 0,
        f"{prefix}.maintenance": 0,
    }


def _consumed(command: str) -> set[str]:
    """The queues a ``celery worker`` command line consumes (its -Q list)."""
    found = re.search(r"(?:-Q|--queues)[ =](\S+)", command)
    assert found, f"a worker without -Q consumes only the default queue: {command}"
    return set(found.group(1).split(","))


def _workers(commands: dict[str, str]) -> dict[str, set[str]]:
    return {
        name: _consumed(command)
        for name, command in commands.items()
        if re.search(r"celery .*\bworker\b", command)
    }


def _assert_layout(workers: dict[str, set[str]]) -> None:
    everything = set(queues.names("hub"))
    assert set().union(*workers.values()) == everything
    for consumed in workers.values():
        # Webhooks (slow receivers) never share a pool with replies.
        assert not {"hub.webhooks", "hub.replies"} <= consumed


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.embedded"])
def test_procfiles_consume_every_queue_with_webhooks_apart(procfile):
    lines = (ROOT / procfile).read_text().splitlines()
    commands = dict(line.split(": ", 1) for line in lines if line.strip())
    _assert_layout(_workers(commands))


def test_compose_consumes_every_queue_with_webhooks_apart():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = {
        name: " ".join(service["command"])
        for name, service in services.items()
        if isinstance(service.get("command"), list)
    }
    _assert_layout(_workers(commands))
