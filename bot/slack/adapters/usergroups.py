"""Slack user groups for the policy (``usergroups:read``): who is in a group, and which id a handle names."""

from __future__ import annotations

from slack_sdk import WebClient


class SlackUserGroups:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def members(self, group_id: str) -> frozenset[str]:
        resp = self.client.usergroups_users_list(usergroup=group_id, include_disabled=False)
        return frozenset(str(u) for u in resp.get("users") or ())

    def handles(self) -> dict[str, str]:
        resp = self.client.usergroups_list(include_disabled=False)
        return {
            str(group["handle"]): str(group["id"])
            for group in resp.get("usergroups") or ()
            if isinstance(group, dict) and group.get("handle") and group.get("id")
        }
