from django.apps import AppConfig


class ChatChannelConfig(AppConfig):
    name = "channels_chat"
    verbose_name = "Live chat channel"

    def ready(self) -> None:
        from hub import adapters

        from .adapter import ChatAdapter

        adapters.register(ChatAdapter())
