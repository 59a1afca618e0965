"""Rootly REST API v1 client. Knows nothing of Slack; returns ``bot.domain`` objects."""

from bot.backends.rootly.client import RootlyClient

__all__ = ["RootlyClient"]
