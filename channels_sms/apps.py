from django.apps import AppConfig


class SmsChannelConfig(AppConfig):
    name = "channels_sms"
    verbose_name = "SMS and WhatsApp channel"

    def ready(self) -> None:
        from hub import adapters

        from .adapter import SmsAdapter, WhatsAppAdapter

        adapters.register(SmsAdapter())
        adapters.register(WhatsAppAdapter())
