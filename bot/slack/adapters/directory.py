"""Slack users' names and emails, from ``users.info`` (needs users:read and users:read.email)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.services.ports import Profile


class SlackDirectory:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def profile(self, slack_user_id: str) -> Profile:
        user = self.client.users_info(user=slack_user_id)["user"]
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
        return Profile(slack_user_id, str(name or slack_user_id), profile.get("email") or None)
