"""langchain-core ``BaseRetriever`` over a framework, for chains and agents.

Kept apart from :mod:`retrieval.search` so that the CLI and the bot do not pay for importing
langchain-core (about a second) unless a caller wants the langchain interface.
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .search import FrameworkSearcher


class FrameworkRetriever(BaseRetriever):
    """Framework elements relevant to a query, best first, as langchain ``Document``s.

    Metadata: ``id`` (citation id), ``kind``, ``goal`` (citation id of the goal), ``score``
    (the probability that citing it is right). Direct ids and structural questions are lookups
    with score 1.0.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: FrameworkSearcher
    k: int = 5
    min_score: float = 0.0

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.searcher.search(query, k=self.k)
        return [
            Document(
                page_content=s.element.text,
                metadata={
                    "id": s.element.id,
                    "kind": s.element.kind,
                    "goal": s.element.goal_id,
                    "score": round(s.score, 4),
                },
            )
            for s in result.results[: self.k]
            if s.score >= self.min_score
        ]
