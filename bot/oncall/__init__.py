"""On call from Slack: who is on call, paging someone, taking the pager, and following shift changes.

The feature reaches Rootly and ilert only through :class:`bot.oncall.ports.OnCallSource`.
"""
