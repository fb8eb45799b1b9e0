"""Slack's message and view limits, and a validator returning the error Slack would give.

The constants are the documented Block Kit / Web API limits. :func:`check_message`,
:func:`check_stream_content` and :func:`check_view` return ``None`` for a payload Slack
accepts, else a :class:`Violation` with the API error name (``no_text``, ``msg_too_long``,
``invalid_blocks``, ``invalid_arguments``, ``invalid_chunks``) and the message/JSON pointer
Slack reports in ``response_metadata.messages``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_TEXT = 40_000
MAX_STREAM_MARKDOWN = 12_000  # markdown_text, and each markdown chunk, of one streaming call
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # modals and the home tab
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_ELEMENT_TEXT = 2_000
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_ACTION_VALUE = 2_000
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_URL = 3_000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_OPTION_GROUPS = 100
MAX_INPUT_LABEL = 2_000
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON_TEXT = 24  # submit / close
MAX_PRIVATE_METADATA = 3_000
MAX_CALLBACK_ID = 255
MAX_SUGGESTED_PROMPTS = 4
STREAM_CHUNK_TYPES = frozenset({"markdown_text", "task_update", "plan_update", "blocks"})
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60


@dataclass(frozen=True)
class Violation:
    """A rejected payload: the API ``error`` plus Slack's detail message and JSON pointer."""

    error: str
    message: str
    pointer: str = ""

    def metadata_message(self) -> str:
        """The line Slack puts in ``response_metadata.messages``."""
        where = f" [json-pointer:{self.pointer}]" if self.pointer else ""
        return f"[ERROR] {self.message}{where}"


def _too_long(limit: int, pointer: str, error: str = "invalid_blocks") -> Violation:
    return Violation(error, f"must be less than {limit + 1} characters", pointer)


def _text_of(obj: Any) -> str:
    """The string of a text object (``{"type": ..., "text": ...}``) or of a bare string."""
    if isinstance(obj, Mapping):
        value = obj.get("text", "")
        return value if isinstance(value, str) else ""
    return obj if isinstance(obj, str) else ""


def _check_len(
    value: Any, limit: int, pointer: str, error: str = "invalid_blocks"
) -> Violation | None:
    if isinstance(value, str) and len(value) > limit:
        return _too_long(limit, pointer, error)
    return None


def _check_options(options: Any, pointer: str) -> Violation | None:
    if not isinstance(options, Sequence) or isinstance(options, str):
        return Violation("invalid_blocks", "must be an array", pointer)
    if len(options) > MAX_OPTIONS:
        return Violation("invalid_blocks", f"must provide at most {MAX_OPTIONS} items", pointer)
    for i, option in enumerate(options):
        if not isinstance(option, Mapping):
            return Violation("invalid_blocks", "must be an object", f"{pointer}/{i}")
        text = _text_of(option.get("text"))
        found = _check_len(text, MAX_OPTION_TEXT, f"{pointer}/{i}/text/text") or _check_len(
            option.get("value"), MAX_OPTION_VALUE, f"{pointer}/{i}/value"
        )
        if found:
            return found
    return None


def check_element(element: Any, pointer: str) -> Violation | None:
    """Checks one interactive element (button, select, input, ...)."""
    if not isinstance(element, Mapping):
        return Violation("invalid_blocks", "must be an object", pointer)
    if element.get("type") == "button":
        found = _check_len(_text_of(element.get("text")), MAX_BUTTON_TEXT, f"{pointer}/text/text")
        if found:
            return found
    for key, limit in (("value", MAX_ACTION_VALUE), ("action_id", MAX_ACTION_ID), ("url", MAX_URL)):
        found = _check_len(element.get(key), limit, f"{pointer}/{key}")
        if found:
            return found
    if "options" in element:
        found = _check_options(element["options"], f"{pointer}/options")
        if found:
            return found
    groups = element.get("option_groups")
    if groups is not None:
        if not isinstance(groups, Sequence) or len(groups) > MAX_OPTION_GROUPS:
            msg = f"must provide at most {MAX_OPTION_GROUPS} items"
            return Violation("invalid_blocks", msg, f"{pointer}/option_groups")
        for i, group in enumerate(groups):
            options = group.get("options", []) if isinstance(group, Mapping) else None
            found = _check_options(options, f"{pointer}/option_groups/{i}/options")
            if found:
                return found
    return None


def _check_section(block: Mapping[str, Any], p: str) -> Violation | None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        return Violation("invalid_blocks", "must provide text or fields", p)
    found = _check_len(_text_of(text), MAX_SECTION_TEXT, f"{p}/text/text")
    if found:
        return found
    if fields is not None:
        if not isinstance(fields, Sequence) or len(fields) > MAX_SECTION_FIELDS:
            return Violation("invalid_blocks", "must provide at most 10 items", f"{p}/fields")
        for j, field in enumerate(fields):
            found = _check_len(_text_of(field), MAX_SECTION_FIELD_TEXT, f"{p}/fields/{j}/text")
            if found:
                return found
    if "accessory" in block:
        return check_element(block["accessory"], f"{p}/accessory")
    return None


def _check_block(block: Any, p: str) -> Violation | None:
    if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
        return Violation("invalid_blocks", "missing required field: type", p)
    found = _check_len(block.get("block_id"), MAX_BLOCK_ID, f"{p}/block_id")
    if found:
        return found
    kind = block["type"]
    if kind == "section":
        return _check_section(block, p)
    if kind == "header":
        text = block.get("text")
        if not isinstance(text, Mapping) or text.get("type") != "plain_text":
            return Violation("invalid_blocks", "must be a plain_text text object", f"{p}/text")
        return _check_len(_text_of(text), MAX_HEADER_TEXT, f"{p}/text/text")
    if kind in ("context", "actions"):
        elements = block.get("elements")
        limit = MAX_CONTEXT_ELEMENTS if kind == "context" else MAX_ACTIONS_ELEMENTS
        if not isinstance(elements, Sequence) or not elements:
            return Violation("invalid_blocks", "must provide at least 1 item", f"{p}/elements")
        if len(elements) > limit:
            msg = f"must provide at most {limit} items"
            return Violation("invalid_blocks", msg, f"{p}/elements")
        for j, element in enumerate(elements):
            ep = f"{p}/elements/{j}"
            if kind == "context":
                found = _check_len(_text_of(element), MAX_CONTEXT_ELEMENT_TEXT, f"{ep}/text")
            else:
                found = check_element(element, ep)
            if found:
                return found
        return None
    if kind == "input":
        found = _check_len(_text_of(block.get("label")), MAX_INPUT_LABEL, f"{p}/label/text")
        return found or check_element(block.get("element"), f"{p}/element")
    return None


def check_blocks(blocks: Any, max_blocks: int = MAX_MESSAGE_BLOCKS) -> Violation | None:
    """Checks a ``blocks`` array against the count limit and the per-block limits."""
    if not isinstance(blocks, Sequence) or isinstance(blocks, str):
        return Violation("invalid_blocks_format", "must be an array", "/blocks")
    if len(blocks) > max_blocks:
        return Violation("invalid_blocks", f"must provide at most {max_blocks} items", "/blocks")
    for i, block in enumerate(blocks):
        found = _check_block(block, f"/blocks/{i}")
        if found:
            return found
    return None


def check_message(params: Mapping[str, Any]) -> Violation | None:
    """Validates chat.postMessage / postEphemeral / update and response_url bodies."""
    text, blocks = params.get("text"), params.get("blocks")
    has_text = isinstance(text, str) and text.strip() != ""
    if not has_text and not blocks and not params.get("attachments"):
        return Violation("no_text", "no text, blocks or attachments provided")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return Violation("msg_too_long", f"must be less than {MAX_MESSAGE_TEXT + 1} characters")
    if blocks is not None:
        return check_blocks(blocks, MAX_MESSAGE_BLOCKS)
    return None


def check_stream_content(params: Mapping[str, Any]) -> Violation | None:
    """Validates the ``markdown_text`` and ``chunks`` of chat.start/append/stopStream: each
    text at most 12,000 characters (``msg_too_long``), chunks an array of objects of a known
    type (``invalid_chunks``), a markdown chunk with a string ``text``."""
    text, chunks = params.get("markdown_text"), params.get("chunks")
    if text is not None and not isinstance(text, str):
        return Violation("invalid_arguments", "must be a string", "/markdown_text")
    found = _check_len(text, MAX_STREAM_MARKDOWN, "/markdown_text", "msg_too_long")
    if found or chunks is None:
        return found
    if not isinstance(chunks, Sequence) or isinstance(chunks, str):
        return Violation("invalid_chunks", "must be an array", "/chunks")
    for i, chunk in enumerate(chunks):
        kind = chunk.get("type") if isinstance(chunk, Mapping) else None
        if kind not in STREAM_CHUNK_TYPES:
            return Violation("invalid_chunks", "unknown or missing chunk type", f"/chunks/{i}")
        if kind == "markdown_text":
            if not isinstance(chunk.get("text"), str):
                return Violation("invalid_chunks", "must be a string", f"/chunks/{i}/text")
            found = _check_len(
                chunk["text"], MAX_STREAM_MARKDOWN, f"/chunks/{i}/text", "msg_too_long"
            )
            if found:
                return found
    return None


def check_view(view: Any) -> Violation | None:
    """Validates a modal or home-tab view as views.open/push/update/publish do."""
    if not isinstance(view, Mapping) or view.get("type") not in ("modal", "home"):
        return Violation("invalid_arguments", "must provide a view of type modal or home", "/view")
    if view["type"] == "modal":
        title = view.get("title")
        if not _text_of(title):
            return Violation("invalid_arguments", "missing required field: title", "/view/title")
        for key, limit in (
            ("title", MAX_MODAL_TITLE),
            ("submit", MAX_MODAL_BUTTON_TEXT),
            ("close", MAX_MODAL_BUTTON_TEXT),
        ):
            found = _check_len(
                _text_of(view.get(key)), limit, f"/view/{key}/text", "invalid_arguments"
            )
            if found:
                return found
    for key, limit in (
        ("private_metadata", MAX_PRIVATE_METADATA),
        ("callback_id", MAX_CALLBACK_ID),
    ):
        found = _check_len(view.get(key), limit, f"/view/{key}", "invalid_arguments")
        if found:
            return found
    found = check_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS)
    if found:
        return Violation(found.error, found.message, "/view" + found.pointer)
    return None
