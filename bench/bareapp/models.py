from django.db import models


class BareMessage(models.Model):
    """The baseline's plain table: one row per posted body, no constraint beyond the key."""

    sender = models.CharField(max_length=320)
    text = models.TextField()
    provider_message_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.provider_message_id


class BenchSeed(models.Model):
    """Marks the read-latency seed present in this database, and at which size."""

    version = models.PositiveSmallIntegerField()
    conversations = models.PositiveIntegerField()
    messages = models.PositiveIntegerField()
    seconds = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"seed v{self.version}: {self.conversations} / {self.messages}"
