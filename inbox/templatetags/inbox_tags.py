from django import template
from django.utils.html import json_script
from django.utils.translation import gettext as _

from inbox.presenters import display_name

register = template.Library()


@register.simple_tag
def js_strings():
    """Texts the page's JavaScript shows, in the agent's language."""
    return json_script(
        {
            "live": _("Live"),
            "connecting": _("Connecting…"),
            "offline": _("Offline, reconnecting…"),
            "left": _("%(time)s left"),
            "overdue": _("overdue by %(time)s"),
            "s": _("%(n)s s"),
            "min": _("%(n)s min"),
            "h": _("%(n)s h %(m)s min"),
            "d": _("%(n)s d"),
            "newMessage": _("New message"),
            "sending": _("Sending…"),
        },
        "inbox-strings",
    )


@register.filter
def person(user):
    return display_name(user)
