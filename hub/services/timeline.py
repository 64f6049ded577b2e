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


def insert_events(events: list[Message]) -> None:
    """Store many timeline events at once (the SLA sweep's warnings), without realtime pushes:
    the caller sends one batch push.

    On PostgreSQL the rows go through ``COPY``: ``bulk_create`` spends most of its time in
    Python building and quoting one parameter per column per row (17,000 for a sweep of 1,000),
    several times what the database needs to store them. Elsewhere, ``bulk_create``.
    """
    if not events:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        Message.objects.bulk_create(events)
        return
    from psycopg.types.json import Jsonb

    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    stamped = [
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(
        f"COPY {table} ({columns}) FROM STDIN"  # names from the model, values streamed
    ) as copy:
        for event in events:
            for name in stamped:
                setattr(event, name, now)
            copy.write_row(
                [
                    Jsonb(getattr(event, f.attname))
                    if f.attname in json_fields
                    else getattr(event, f.attname)
                    for f in fields
                ]
            )
