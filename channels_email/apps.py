from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "channels_email"
    verbose_name = "Email channel"

    def ready(self) -> None:
        from hub import adapters

        from .adapter import EmailAdapter

        adapters.register(EmailAdapter())
