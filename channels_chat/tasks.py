"""Celery tasks of the live chat. They take ids and are idempotent."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def email_unseen_replies(conversation_id: int) -> str:
    """Email continuity (``channels_chat.continuity``): scheduled after a reply is pushed to a
    visitor and after a visitor's last socket closes."""
    from channels_chat import continuity

    return continuity.email_unseen_replies(conversation_id)
