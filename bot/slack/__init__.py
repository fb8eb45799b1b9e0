"""The bolt app (:func:`.app.build_app`): features and their extension points
(:mod:`.features`), thin listeners (:mod:`.listeners`), requests kept before the ack
(:mod:`.durable`), Block Kit builders (:mod:`.blocks`), delivery of replies, streaming, the
HTTP server and metrics. Built by the composition root (:mod:`bot.wiring.composition`)."""
