"""Progress tracking: initiatives, owners, updates, weekly nudges and the digest.

Plain Python over the storage layer; Slack appears only in :mod:`bot.progress.sending`
(the DM sender) and in :mod:`bot.slack` (listeners and Block Kit)."""
