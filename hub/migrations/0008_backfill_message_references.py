"""The references of the email stored before 0007, from the headers kept in its metadata.

Outside one big transaction (``atomic = False``): each batch of messages commits on its own, so
the table of messages is never locked for the whole scan and the work done so far survives an
interruption (running it again skips what is there). It stores what the metadata kept (the
last 20 References and In-Reply-To); mail ingested from now on stores all its references.
"""

from django.db import migrations, transaction

BATCH = 2000


def backfill(apps, schema_editor):
    Message = apps.get_model("hub", "Message")
    MessageReference = apps.get_model("hub", "MessageReference")
    emails = Message.objects.filter(channel="email", direction="in").order_by("pk")
    last = 0
    while True:
        batch = list(emails.filter(pk__gt=last).only("id", "metadata")[:BATCH])
        if not batch:
            return
        rows = []
        for message in batch:
            email = (message.metadata or {}).get("email") or {}
            refs = [*(email.get("in_reply_to") or []), *reversed(email.get("references") or [])]
            for ref in dict.fromkeys(ref for ref in refs if isinstance(ref, str) and ref):
                rows.append(
                    MessageReference(
                        message_id=message.pk, channel="email", provider_message_id=ref[:255]
                    )
                )
        with transaction.atomic(using=schema_editor.connection.alias):
            MessageReference.objects.bulk_create(rows, ignore_conflicts=True)
        last = batch[-1].pk


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("hub", "0007_message_references"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, atomic=False),
    ]
