"""Demo conversations for a new install (``make run`` calls this after ``bootstrap_hub``): a few
contacts writing by email, SMS, WhatsApp and chat, ingested through ``hub.services.ingest`` as the
channels would, so the agent UI opens on a populated inbox. Does nothing once any conversation
exists."""

from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from crm import services as crm_services
from crm.models import Company, Identity
from hub import services
from hub.inbound import InboundMessage
from hub.models import Channel, Conversation, Endpoint

ANNA_EMAIL_HTML = (
    "<p>Hello,</p><p>the <b>Tolomeo lamp</b> of order #1042 arrived with a broken arm. "
    "Can you send a replacement? Photos below.</p><p>Thanks,<br>Anna</p>"
    "<blockquote>On Mon, 10 Nov, Shop wrote:<br>Your order #1042 has shipped.</blockquote>"
)
ANNA_EMAIL_TEXT = (
    "Hello,\n\nthe Tolomeo lamp of order #1042 arrived with a broken arm. Can you send a "
    "replacement? Photos below.\n\nThanks,\nAnna"
)
ANNA_EMAIL_ORIGINAL = (
    ANNA_EMAIL_TEXT + "\n\nOn Mon, 10 Nov, Shop wrote:\n> Your order #1042 has shipped.\n"
    "> Track it at https://shop.example/track/1042"
)


class Command(BaseCommand):
    help = "Seed demo conversations (email, SMS, WhatsApp, chat) when there are none."

    def handle(self, *args, **options):
        if Conversation.objects.exists():
            self.stdout.write("Demo data: the database already has conversations; skipped.")
            return
        endpoints = {e.channel: e for e in Endpoint.objects.filter(is_active=True).order_by("pk")}
        missing = {Channel.EMAIL, Channel.SMS, Channel.CHAT} - set(endpoints)
        if missing:
            self.stdout.write(
                f"Demo data: no endpoint for {', '.join(sorted(missing))} (run bootstrap_hub "
                "first); skipped."
            )
            return
        from config.celery import app

        # Before the web, worker and Redis processes start: deliver demo replies in-process to
        # the local outbox and keep realtime pushes in memory.
        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        try:
            with override_settings(
                CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
            ):
                count = self._seed(endpoints)
        finally:
            app.conf.task_always_eager = eager
        self.stdout.write(self.style.SUCCESS(f"Demo data: {count} conversations seeded."))

    def _page_views(self, contact, now) -> None:
        """What the chat widget reports, when the CRM keeps page views."""
        try:
            page_view = apps.get_model("crm", "PageView")
        except LookupError:
            return
        for minutes, path, title in (
            (9, "/shipping", "Shipping and delivery"),
            (6, "/products/tolomeo-lamp", "Tolomeo lamp"),
            (4, "/shipping/switzerland", "Shipping to Switzerland"),
        ):
            page_view.objects.create(
                contact=contact,
                url=f"https://shop.example{path}",
                title=title,
                viewed_at=now - timedelta(minutes=minutes),
            )

    def _seed(self, endpoints) -> int:
        now = timezone.now()
        with transaction.atomic():
            company, _ = Company.objects.get_or_create(
                name="Bianchi Arredamenti", defaults={"domain": "bianchi-arredamenti.example"}
            )
            if not Identity.objects.filter(kind="email", value="anna.bianchi@example.com"):
                crm_services.create_contact(
                    name="Anna Bianchi",
                    company=company,
                    language="en",
                    attributes={"plan": "Pro", "city": "Milano", "orders": 7},
                    identities=[
                        {"kind": "email", "value": "anna.bianchi@example.com"},
                        {"kind": "phone", "value": "+393331234567"},
                    ],
                )

        def inbound(channel, kind, address, text, minutes_ago, **extra):
            return services.ingest(
                InboundMessage(
                    endpoint=endpoints[channel],
                    sender_kind=kind,
                    sender_address=address,
                    text=text,
                    received_at=now - timedelta(minutes=minutes_ago),
                    **extra,
                )
            )

        email = inbound(
            Channel.EMAIL,
            "email",
            "anna.bianchi@example.com",
            ANNA_EMAIL_TEXT,
            180,
            html=ANNA_EMAIL_HTML,
            sender_name="Anna Bianchi",
            subject="Order #1042 arrived damaged",
            provider_message_id="demo-anna-1@example.com",
            metadata={"email": {"original_text": ANNA_EMAIL_ORIGINAL, "source": "demo"}},
        )
        inbound(
            Channel.SMS,
            "phone",
            "+393331234567",
            "Hi, it's Anna: did you get my email about the broken lamp?",
            25,
            provider_message_id="demo-sms-anna-1",
        )
        marco = inbound(
            Channel.SMS,
            "phone",
            "+393471112233",
            "Ciao, a che ora chiudete sabato?",
            50,
            sender_name="Marco Rossi",
            provider_message_id="demo-sms-marco-1",
        )
        services.send_reply(
            marco.conversation, text="Ciao Marco, sabato siamo aperti fino alle 13."
        )
        inbound(
            Channel.SMS,
            "phone",
            "+393471112233",
            "Perfetto, e domenica?",
            5,
            provider_message_id="demo-sms-marco-2",
        )
        inbound(
            Channel.CHAT,
            "chat_visitor",
            "visitor-7f3a",
            "Hi! Do you ship to Switzerland?",
            3,
            sender_name="Giulia",
        )
        chat = inbound(
            Channel.CHAT, "chat_visitor", "visitor-7f3a", "And how long does it take?", 1
        )
        self._page_views(chat.conversation.contact, now)
        if Channel.WHATSAPP in endpoints:
            inbound(
                Channel.WHATSAPP,
                "whatsapp",
                "+393405556677",
                "Buongiorno, il mio ordine 1077 è in ritardo di una settimana.",
                70,
                sender_name="Luca Verdi",
                provider_message_id="demo-wa-luca-1",
            )
        invoice = inbound(
            Channel.EMAIL,
            "email",
            "paolo.neri@example.com",
            "Could you send me the invoice for order #988?",
            60 * 26,
            sender_name="Paolo Neri",
            subject="Invoice for order #988",
            provider_message_id="demo-paolo-1@example.com",
        )
        services.add_note(
            email.conversation,
            author=None,
            text="Check with the warehouse whether a spare arm is in stock.",
        )
        services.send_reply(
            invoice.conversation, text="Hello Paolo, the invoice is attached to your account page."
        )
        services.resolve(invoice.conversation)
        return Conversation.objects.count()
