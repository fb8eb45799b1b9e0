"""The `fwbot` command line: parsing, the commands' output (text and JSON), the local console
and `fwbot serve`. Everything here runs in the CLI's process; nothing below imports it."""

from .main import main

__all__ = ["main"]
