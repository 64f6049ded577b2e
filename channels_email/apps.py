from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "channels_email"
    verbose_name = "Email channel"

    def ready(self) -> None:
        from anymail.signals import inbound, tracking

        from hub import adapters, config_cache
        from hub.models import Endpoint

        from .adapter import EmailAdapter
        from .signals import handle_inbound, handle_tracking

        adapters.register(EmailAdapter())
        # import_mail reads the email endpoints from the configuration cache.
        config_cache.watch(Endpoint)
        inbound.connect(handle_inbound, dispatch_uid="channels_email.inbound")
        tracking.connect(handle_tracking, dispatch_uid="channels_email.tracking")
