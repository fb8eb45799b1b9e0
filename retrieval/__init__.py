"""The knowledge core, pure Python (no Slack, no storage): the assistant
(:mod:`.assistant`, questions and /align in one object) over search (:mod:`.search`: dense
MiniLM vectors in Chroma, :mod:`.embeddings`, :mod:`.index`, and lexical evidence,
:mod:`.lexical`, :mod:`.evidence`), the structure lookups (:mod:`.structure`), calibrated
scores (:mod:`.calibration`), answers (:mod:`.answer`), /align (:mod:`.align`), follow-ups,
labelled examples, evaluation, and the optional chat model (:mod:`.llm`). Import the module
you need: this package loads nothing by itself, so `fwbot ask` imports only what it uses."""
