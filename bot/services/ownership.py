"""Who may act on an /align run or an answered question: the one rule that every /align
button, the *Edit tags* form and the Helpful / Not helpful votes go through.

A shared message sits in a channel where anyone can press its buttons, and a request can name
any id, so the id in a request proves nothing: only the person who ran the /align or asked
the question (its owner), or an admin, may act on it. Everyone else is refused with one line
that names nothing of the other person's."""

from __future__ import annotations

from collections.abc import Container

NOT_YOUR_ALIGNMENT = "Only the person who ran this /align (or an admin) can do that."
NOT_YOUR_QUESTION = "Only the person who asked can rate this answer."


class NotYours(PermissionError):
    """The user may not act on this: it is someone else's and they are not an admin. The
    message is safe to show them."""


def may_act_on(owner_id: str, user_id: str, admins: Container[str]) -> bool:
    """Whether ``user_id`` may act on what ``owner_id`` ran or asked: its owner or an
    admin."""
    return bool(user_id) and (user_id == owner_id or user_id in admins)


def require_owner_or_admin(
    owner_id: str, user_id: str, admins: Container[str], refusal: str
) -> None:
    """Raise :class:`NotYours` with ``refusal`` unless :func:`may_act_on`."""
    if not may_act_on(owner_id, user_id, admins):
        raise NotYours(refusal)
