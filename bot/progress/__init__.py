"""Progress tracking: initiatives, owners, updates, weekly nudges and the digest.

Plain Python over the storage layer; Slack is reached only through the paced sender of
:mod:`bot.slack_api` (injected), and appears as listeners and Block Kit in :mod:`bot.slack`."""
