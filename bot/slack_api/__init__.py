"""The way out to Slack's Web API, below every feature; nothing outside this package calls
a Web API method (tests/test_slack_calls_in_one_place.py checks it).

Calls classified once (:mod:`.calls`); one retry policy (:mod:`.retry`) and one post loop
(:mod:`.posting`) for the interactive replies and the paced background sender
(:mod:`.sender`, :mod:`.pacing`); one plain-text fallback rule (:mod:`.plain`); one history
look-up (:mod:`.history`); the metadata types replies carry (:mod:`.events`); edits, streams
and the assistant pane (:mod:`.messages`); modals and the App Home (:mod:`.views`); who is
who (:mod:`.workspace`); ``response_url`` replies (:mod:`.response_url`); files
(:mod:`.files`). Answers and /align post through :class:`bot.slack.delivery.Delivery`,
nudges and the digest through :class:`bot.progress.exactly_once.ExactlyOnceSender`."""
