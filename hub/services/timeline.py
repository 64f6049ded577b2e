"""System events on a conversation's timeline (assignment, status changes, ...)."""

from __future__ import annotations

from typing import Any

from django.db import connection, models
from django.utils import timezone

from hub.models import Conversation, Message
from hub.payloads import message_payload
from hub.services import realtime


def record_event(
    conversation: Conversation,
    event_type: str,
    *,
    text: str = "",
    author=None,
    metadata: dict[str, Any] | None = None,
    occurred_at=None,
) -> Message:
    event = Message.objects.create(
        conversation=conversation,
        kind=Message.Kind.EVENT,
        channel=conversation.channel,
        event_type=event_type,
        text=text,
        author=author,
        metadata=metadata or {},
        occurred_at=occurred_at or timezone.now(),
    )
    realtime.publish(conversation, "message.created", message_payload(event))
    return event


def insert_events(rows: list[dict[str, Any]]) -> None:
    """Store many timeline events at once (the SLA sweep's warnings), without realtime pushes:
    the caller sends one batch push. Each row gives ``Message`` field values by attribute name
    (``conversation_id``, ``channel``, ``event_type``, ``text``, ``metadata``, ``occurred_at``);
    the other fields take their defaults, ``kind`` is an event.

    On PostgreSQL the rows go through ``COPY``, built from the plain values: ``bulk_create``
    spends most of its time in Python building and quoting one parameter per column per row
    (17,000 for a sweep of 1,000), and even building the 1,000 model instances costs more than
    the database needs to store them. Elsewhere, ``bulk_create``.
    """
    if not rows:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        Message.objects.bulk_create([Message(kind=Message.Kind.EVENT, **row) for row in rows])
        return
    from psycopg.types.json import Jsonb

    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    base: dict[str, Any] = {}
    per_row = []  # callable defaults (a fresh idempotency key, a fresh dict) run for each row
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            base[f.attname] = now
        elif f.has_default() and callable(f.default):
            per_row.append(f)
        else:
            base[f.attname] = f.get_default()
    base["kind"] = Message.Kind.EVENT.value
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    names = [f.attname for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Message._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN"  # names from the model, values streamed
        ) as copy,
    ):
        for row in rows:
            values = {**base, **{f.attname: f.get_default() for f in per_row}, **row}
            for name in json_fields:
                if values[name] is not None:  # a null column stays SQL NULL
                    values[name] = Jsonb(values[name])
            copy.write_row([values[name] for name in names])
