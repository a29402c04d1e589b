"""Settings are read from the environment; see base.py and the README's variable table."""

from .base import *  # noqa: F403
