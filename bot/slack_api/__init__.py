"""The way out to Slack's Web API, below every feature: calls classified once
(:mod:`.calls`), one plain-text fallback rule (:mod:`.plain`), the metadata types replies
carry (:mod:`.events`), one history look-up (:mod:`.history`), and the paced sender that
nudges and the digest use (:mod:`.sender`). Answers and /align post through
:class:`bot.slack.delivery.Delivery`, which builds on the same pieces."""
