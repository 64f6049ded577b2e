"""Identity verification state (when, how, by whom) and claimed addresses (issue #16)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def carry_over_verified(apps, schema_editor):
    """``is_verified`` becomes ``verified_at`` + how: an identity flagged verified before (only
    bulk imports set it) counts as proven by the channel, from its creation."""
    Identity = apps.get_model("crm", "Identity")
    Identity.objects.filter(is_verified=True).update(
        verified_at=models.F("created_at"), verification_method="provider"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0004_identity_opt_out_pending'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='identity',
            name='verification_method',
            field=models.CharField(blank=True, choices=[('provider', 'the channel delivered from it'), ('code', 'one-time code'), ('link', 'one-time link'), ('agent', 'an agent')], max_length=20, verbose_name='verified by'),
        ),
        migrations.AddField(
            model_name='identity',
            name='verified_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='verified at'),
        ),
        migrations.AddField(
            model_name='identity',
            name='verified_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='verified by agent'),
        ),
        migrations.RunPython(carry_over_verified, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(
            model_name='identity',
            name='is_verified',
        ),
        migrations.CreateModel(
            name='IdentityClaim',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('email', 'email address'), ('phone', 'phone number'), ('whatsapp', 'WhatsApp number'), ('chat_visitor', 'chat visitor'), ('api', 'API identifier')], max_length=20, verbose_name='kind')),
                ('value', models.CharField(max_length=320, verbose_name='value')),
                ('source', models.CharField(choices=[('chat_form', 'chat form')], max_length=20, verbose_name='source')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('verified_at', models.DateTimeField(blank=True, null=True, verbose_name='verified at')),
                ('verification_method', models.CharField(blank=True, choices=[('provider', 'the channel delivered from it'), ('code', 'one-time code'), ('link', 'one-time link'), ('agent', 'an agent')], max_length=20, verbose_name='verified by')),
                ('code_hash', models.CharField(blank=True, max_length=200)),
                ('code_expires_at', models.DateTimeField(blank=True, null=True)),
                ('code_attempts', models.PositiveSmallIntegerField(default=0)),
                ('codes_sent', models.PositiveSmallIntegerField(default=0)),
                ('code_sent_at', models.DateTimeField(blank=True, null=True)),
                ('contact', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='claims', to='crm.contact')),
                ('verified_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='verified by agent')),
            ],
            options={
                'verbose_name': 'claimed address',
                'verbose_name_plural': 'claimed addresses',
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['kind', 'value'], name='crm_identityclaim_value_idx')],
                'constraints': [models.UniqueConstraint(fields=('contact', 'kind', 'value'), name='crm_identityclaim_unique_per_contact')],
            },
        ),
    ]
