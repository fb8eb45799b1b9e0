"""Framework data and the schema every framework follows: the packaged INTERPOL framework,
the loader (a malformed file is a :class:`FrameworkError` naming the line and field), and the
scope-note checks."""

from .loader import FrameworkError, FrameworkProblem, check_framework, load_framework
from .schema import Element, Framework, Goal, Objective

__all__ = [
    "Element",
    "Framework",
    "FrameworkError",
    "FrameworkProblem",
    "Goal",
    "Objective",
    "check_framework",
    "load_framework",
]
