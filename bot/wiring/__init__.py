"""Wiring: the settings (pydantic-settings, from the environment and .env), the optional chat
model built from them, and the one composition root (:class:`Services`) that turns settings
into the services everything else is given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import MissingSetting, Settings, UnusableSetting

if TYPE_CHECKING:
    from .composition import Services

__all__ = ["MissingSetting", "Services", "Settings", "UnusableSetting"]


def __getattr__(name: str) -> object:
    """``Services`` on first use: it imports the knowledge core, which a light command
    (`fwbot --help`, `framework validate`) does not need."""
    if name == "Services":
        from .composition import Services

        return Services
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
