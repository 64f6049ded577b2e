"""Celery application: the worker and beat processes of the hub."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _load_the_language_model(**kwargs) -> None:
    """Each worker process loads the analyser's language model (about a second) when it starts,
    not on the first message it reads."""
    import understanding

    understanding.warm_up()
