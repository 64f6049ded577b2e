"""The Celery queues of the hub, and which task goes to which.

One queue per kind of work, so a flood of one kind cannot hold up another: 100,000 webhook
deliveries must not keep a reply from going out. The worker processes (Procfile,
Procfile.embedded, docker-compose.yml) consume them in two pools: customer-facing work
(replies, SLA, media and continuity, maintenance) and webhooks, whose receivers may be slow.
Within one worker, kombu's Redis transport takes its queues in turn (round robin), so none of
them starves the others. Queue names carry a prefix (``HUB_CELERY_QUEUE``, "hub" by default:
``hub.replies`` ...), which lets test runs and several deployments share one Redis.
"""

from __future__ import annotations

REPLIES = "replies"  # outbound messages (the outbox): customer-facing
SLA = "sla"  # the TTL sweep (it may send expectation messages: through the replies queue)
WEBHOOKS = "webhooks"  # outgoing webhooks to integrators
MEDIA = "media"  # inbound media downloads, chat-to-email continuity
MAINTENANCE = "maintenance"  # sweeps for lost tasks; any task not routed below
KINDS = (REPLIES, SLA, WEBHOOKS, MEDIA, MAINTENANCE)

TASKS = {
    "hub.tasks.deliver_message": REPLIES,
    "hub.tasks.sla_sweep": SLA,
    "hub.tasks.deliver_webhook": WEBHOOKS,
    "hub.tasks.requeue_stalled_deliveries": MAINTENANCE,
    "hub.tasks.analyse_messages": MAINTENANCE,  # history read after commit: not customer-facing
    "channels_sms.tasks.download_inbound_media": MEDIA,
    "channels_chat.tasks.email_unseen_replies": MEDIA,
}


def name(kind: str, prefix: str) -> str:
    return f"{prefix}.{kind}"


def names(prefix: str, kinds: tuple[str, ...] = KINDS) -> list[str]:
    return [name(kind, prefix) for kind in kinds]


def routes(prefix: str) -> dict[str, dict[str, str]]:
    """``CELERY_TASK_ROUTES``: each task to its queue."""
    return {task: {"queue": name(kind, prefix)} for task, kind in TASKS.items()}
