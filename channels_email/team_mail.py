"""Mail the team sent: from one of our mailboxes, from an address an endpoint lists in
``settings["team_addresses"]``, or from an agent's (active user's) email.

Such mail (an import of a shared mailbox's history holds both sides; a copy of a team member's
answer sent from their own client) is an outbound message of the customer's conversation, not
mail from a new customer, and it is never sent again. The customer is the first address on To,
then Cc, that is none of ours; the people on To/Cc besides are participants as usual.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from channels_email.parsing import ParsedEmail


def team_addresses(endpoints) -> frozenset[str]:
    """Every address the team writes from, lower case (one query for the agents)."""
    addresses: set[str] = set()
    for endpoint in endpoints:
        addresses.add(endpoint.address)
        listed = (endpoint.settings or {}).get("team_addresses") or []
        if isinstance(listed, str):
            listed = listed.replace(";", ",").split(",")
        addresses.update(a for a in listed if isinstance(a, str))
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    addresses.update(users.values_list("email", flat=True))
    return frozenset(a.strip().lower() for a in addresses if a.strip())


def _bare(address: str) -> str:
    """``Support+Tok@Shop.example`` -> ``support@shop.example``."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    return f"{local.partition('+')[0]}@{domain}".lower()


def team_sender(parsed: ParsedEmail, team: frozenset[str]) -> str:
    """The team address ``parsed`` was sent from, or "" for anyone else's mail."""
    sender = _bare(parsed.from_address or "")
    return sender if sender in team else ""


def customer_of(parsed: ParsedEmail, team: frozenset[str]) -> tuple[str, str] | None:
    """(name, address) of the first recipient on To, then Cc, who is not the team."""
    for name, address in (*parsed.to, *parsed.cc):
        if address and "@" in address and _bare(address) not in team:
            return name, address
    return None
