from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "channels_email"
    verbose_name = "Email channel"

    def ready(self) -> None:
        from anymail.signals import inbound, tracking

        from hub import adapters

        from . import checks  # noqa: F401  (registers the system checks)
        from .adapter import EmailAdapter
        from .signals import handle_inbound, handle_tracking

        adapters.register(EmailAdapter())
        inbound.connect(handle_inbound, dispatch_uid="channels_email.inbound")
        tracking.connect(handle_tracking, dispatch_uid="channels_email.tracking")
