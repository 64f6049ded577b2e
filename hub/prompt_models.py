"""``Prompt``: a short question the hub asked a person, whose short reply is an answer.

A CSAT survey on SMS ("reply 1 to 5"), the bot's "did this help? reply 1 or 2": the person's
"4" must be recorded as the answer, on the conversation that asked, and must neither reopen a
resolved conversation nor open a new one nor start the TTL clock. The apps that ask (csat, bot)
create the prompt with ``hub.services.prompts.ask`` and hear the answer through the
``hub.signals.prompt_answered`` signal; the hub knows nothing else about them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Prompt(models.Model):
    conversation = models.ForeignKey(
        "hub.Conversation", on_delete=models.CASCADE, related_name="prompts"
    )
    endpoint = models.ForeignKey("hub.Endpoint", on_delete=models.CASCADE, related_name="+")
    identity = models.ForeignKey("crm.Identity", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(
        _("kind"), max_length=40, help_text=_("Who asked: e.g. csat, bot_feedback.")
    )
    choices = models.JSONField(
        _("accepted answers"), help_text=_('Normalised replies that answer it, e.g. ["1", "2"].')
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answer = models.CharField(_("answer"), max_length=40, blank=True)
    answer_message = models.ForeignKey(
        "hub.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("prompt")
        verbose_name_plural = _("prompts")
        indexes = [
            models.Index(
                fields=["endpoint", "identity", "expires_at"],
                condition=models.Q(answered_at__isnull=True),
                name="hub_prompt_open_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({', '.join(self.choices)})"
