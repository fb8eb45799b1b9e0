"""The optional chat model: answers it writes (:class:`LLMComposer`), questions it rewrites
(:class:`ModelRewriter`), /align reviews (:class:`ModelReviewer`), their prompts, providers,
call limits and streaming. Nothing here is imported unless FWBOT_LLM names a model (the
Slack services read only :data:`current_user`)."""

from .composer import LLMComposer, Usage
from .limits import AnswerCache, CallBudget, OverLimit, current_user
from .prompts import chat_prompt, prompt_text, prompt_version
from .providers import PROVIDERS, ModelOptions, ModelUnavailable, build_chat_model
from .review import ModelReviewer
from .rewrite import ModelRewriter
from .task import FallbackReason, ModelTask

__all__ = [
    "PROVIDERS",
    "AnswerCache",
    "CallBudget",
    "FallbackReason",
    "LLMComposer",
    "ModelOptions",
    "ModelReviewer",
    "ModelRewriter",
    "ModelTask",
    "ModelUnavailable",
    "OverLimit",
    "Usage",
    "build_chat_model",
    "chat_prompt",
    "current_user",
    "prompt_text",
    "prompt_version",
]
