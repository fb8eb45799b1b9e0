"""The plain services the Slack listeners and the CLI call: answering a question (with its
follow-ups and the stored exchange), /align with its labelled examples and records, and
reading proposal documents (files given on the command line or attached in Slack). Plain
Python: no bolt, no Slack payloads; Slack file downloads go through :mod:`bot.slack_api`."""

from .alignments import AlignmentRun, AlignmentService, UnknownObjectives
from .documents import Document, DocumentError, read_document, read_document_file
from .proposal_files import FilesRead, read_message_files
from .questions import AnsweredQuestion, Conversation, QuestionService

__all__ = [
    "AlignmentRun",
    "AlignmentService",
    "AnsweredQuestion",
    "Conversation",
    "Document",
    "DocumentError",
    "FilesRead",
    "QuestionService",
    "UnknownObjectives",
    "read_document",
    "read_document_file",
    "read_message_files",
]
