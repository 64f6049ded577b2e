"""SLA records get the outcome decided when their clock stops; the records of clocks stopped
before this migration get theirs from their times: a wait answered at or after its due time was
a breach, even when no sweep marked it."""

from django.db import migrations, models


def decide_past_outcomes(apps, schema_editor):
    SlaRecord = apps.get_model("hub", "SlaRecord")
    Message = apps.get_model("hub", "Message")
    SlaRecord.objects.filter(breached=True).update(outcome="breached")
    stopped = SlaRecord.objects.filter(outcome="", stopped_at__isnull=False)
    late = stopped.filter(due_at__isnull=False, stopped_at__gte=models.F("due_at"))
    for record in late.iterator(chunk_size=500):
        # Stopped while paused (pending, snoozed)? Then the due time stored is the one from
        # before the pause, and the time left when it paused tells.
        last_change = (
            Message.objects.filter(
                conversation_id=record.conversation_id,
                event_type__in=("sla_paused", "sla_resumed"),
                occurred_at__gte=record.started_at,
                occurred_at__lte=record.stopped_at,
            )
            .order_by("-occurred_at", "-id")
            .first()
        )
        if last_change is not None and last_change.event_type == "sla_paused":
            if (last_change.metadata or {}).get("remaining_seconds", 0) > 0:
                continue  # answered with time left: met (below)
        SlaRecord.objects.filter(pk=record.pk).update(
            outcome="breached", breached=True, breached_at=record.due_at
        )
    stopped.filter(outcome="").update(outcome="met")


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0012_webhook_disabling_and_loose_subscription_fk"),
    ]

    operations = [
        migrations.AddField(
            model_name="slarecord",
            name="outcome",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Running"),
                    ("met", "Met"),
                    ("breached", "Breached"),
                    ("merged", "Closed by a merge"),
                ],
                default="",
                max_length=10,
                verbose_name="outcome",
            ),
        ),
        migrations.RunPython(decide_past_outcomes, migrations.RunPython.noop, elidable=True),
    ]
