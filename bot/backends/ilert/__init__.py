"""ilert client: the events API (raise alerts, comment) and REST (read, accept, resolve, find users).

Knows nothing of Slack; returns ``bot.domain`` objects.
"""

from bot.backends.ilert.backend import IlertBackend
from bot.backends.ilert.client import IlertClient

__all__ = ["IlertBackend", "IlertClient"]
