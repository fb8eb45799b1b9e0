"""Wiring: the settings (pydantic-settings, from the environment and .env), the optional chat
model built from them, and the one composition root (:class:`Services`) that turns settings
into the services everything else is given."""

from .composition import Services
from .settings import MissingSetting, Settings, UnusableSetting

__all__ = [
    "MissingSetting",
    "Services",
    "Settings",
    "UnusableSetting",
]
