"""Forms of the agent UI: they validate input; the views call the hub's services."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.models import Channel
from inbox.models import AgentProfile

MAX_TEXT = 100_000


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply"), max_length=MAX_TEXT, required=False, strip=False, widget=forms.Textarea
    )
    channel = forms.ChoiceField(label=_("Send on"), choices=Channel.choices, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=MAX_TEXT, widget=forms.Textarea)


class AssignForm(forms.Form):
    """``assignee``: "me", a user id, or "" to unassign."""

    assignee = forms.CharField(label=_("Assignee"), required=False, max_length=20)

    def clean_assignee(self):
        value = self.cleaned_data["assignee"].strip()
        if value in ("", "me"):
            return value
        if not (value.isascii() and value.isdigit()):
            raise forms.ValidationError(_("Choose a member of the team."))
        return int(value)


SNOOZE_PRESETS = ("1h", "3h", "tomorrow", "next_week")


def snooze_preset_choices():
    return [
        ("1h", _("1 hour")),
        ("3h", _("3 hours")),
        ("tomorrow", _("Tomorrow, 9:00")),
        ("next_week", _("Next Monday, 9:00")),
        ("custom", _("Pick a time")),
    ]


def snooze_until(preset: str, now: datetime | None = None) -> datetime | None:
    """When a preset ends, in the agent's (active) time zone."""
    now = timezone.localtime(now or timezone.now())
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "3h":
        return now + timedelta(hours=3)
    nine = time(9, 0)
    if preset == "tomorrow":
        day = now.date() + timedelta(days=1)
    elif preset == "next_week":
        day = now.date() + timedelta(days=7 - now.weekday())
    else:
        return None
    return timezone.make_aware(datetime.combine(day, nine), now.tzinfo)


class SnoozeForm(forms.Form):
    preset = forms.ChoiceField(label=_("Snooze"), choices=snooze_preset_choices)
    until = forms.DateTimeField(
        label=_("Until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )

    def clean(self):
        data = super().clean()
        preset = data.get("preset")
        if preset == "custom":
            if not data.get("until"):
                raise forms.ValidationError(_("Pick the time to snooze until."))
            data["moment"] = data["until"]
        elif preset:
            data["moment"] = snooze_until(preset)
        return data


class HandoffForm(forms.Form):
    channel = forms.ChoiceField(label=_("Hand off to"), choices=Channel.choices)


class MergeForm(forms.Form):
    source = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)

    class Meta:
        model = AgentProfile
        fields = ["language", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["time_zone"].choices = [
            ("", _("Server time zone (%(zone)s)") % {"zone": settings.TIME_ZONE}),
            *[(zone, zone) for zone in zones],
        ]
        self.fields["language"].choices = [
            ("", _("Browser language")),
            *settings.LANGUAGES,
        ]


class OptOutDecisionForm(forms.Form):
    identity = forms.IntegerField()
    decision = forms.ChoiceField(choices=[("confirm", "confirm"), ("dismiss", "dismiss")])
