"""Before the hub learned languages from messages, a contact's language was only ever set by a
choice (the chat widget, an agent in the admin, an integrator through the API): mark those as
chosen, so a message does not overwrite them."""

from django.db import migrations


def mark_chosen(apps, schema_editor):
    Contact = apps.get_model("crm", "Contact")
    Contact.objects.exclude(language="").filter(language_source="").update(
        language_source="explicit"
    )


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_contact_language_source")]

    operations = [migrations.RunPython(mark_chosen, migrations.RunPython.noop)]
