from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Conversation hub"

    def ready(self) -> None:
        # The built-in api channel registers like any other channel adapter.
        from hub import api_channel  # noqa: F401
