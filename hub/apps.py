from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Conversation hub"

    def ready(self) -> None:
        # The built-in api channel registers like any other channel adapter.
        from hub import (
            api_channel,  # noqa: F401
            config_cache,
        )
        from hub.models import BusinessHours, Endpoint, Holiday, TtlPolicy, WebhookSubscription

        config_cache.watch(WebhookSubscription, TtlPolicy, BusinessHours, Holiday, Endpoint)
