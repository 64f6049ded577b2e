"""Default TTL policies per channel (DESIGN.md pillar 1) and the texts the hub sends on its own."""

from datetime import timedelta

from django.db import migrations

POLICIES = [
    # channel, first, next, business hours only, handoff mode, handoff channels
    ("email", timedelta(hours=24), timedelta(hours=24), True, "off", []),
    ("chat", timedelta(minutes=2), timedelta(minutes=1), False, "automatic", ["email"]),
    ("sms", timedelta(hours=1), timedelta(hours=1), False, "on_request", ["email"]),
    ("whatsapp", timedelta(hours=1), timedelta(hours=1), False, "on_request", ["email", "sms"]),
    ("api", None, None, False, "off", []),
]

TEMPLATES = {
    ("expectation_handoff", "en"): (
        "We need a little longer to check this{% if name %}, {{ name }}{% endif %}. "
        "We'll write to you at {{ address }} by {{ due_time }}."
    ),
    ("expectation_handoff", "it"): (
        "Ci serve ancora un po' di tempo per verificare{% if name %}, {{ name }}{% endif %}. "
        "Ti scriveremo a {{ address }} entro {{ due_time }}."
    ),
    ("expectation_ask_email", "en"): (
        "We need a little longer to check this{% if name %}, {{ name }}{% endif %}. "
        "Which email address can we send the answer to?"
    ),
    ("expectation_ask_email", "it"): (
        "Ci serve ancora un po' di tempo per verificare{% if name %}, {{ name }}{% endif %}. "
        "A quale indirizzo email possiamo mandarti la risposta?"
    ),
}


def create_defaults(apps, schema_editor):
    TtlPolicy = apps.get_model("hub", "TtlPolicy")
    MessageTemplate = apps.get_model("hub", "MessageTemplate")
    for channel, first, nxt, business_hours, mode, targets in POLICIES:
        TtlPolicy.objects.get_or_create(
            channel=channel,
            endpoint=None,
            defaults={
                "first_response": first,
                "next_response": nxt,
                "business_hours_only": business_hours,
                "handoff_mode": mode,
                "handoff_channels": targets,
            },
        )
    for (key, language), text in TEMPLATES.items():
        MessageTemplate.objects.get_or_create(key=key, language=language, defaults={"text": text})


class Migration(migrations.Migration):
    dependencies = [("hub", "0002_ttl_policies")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
