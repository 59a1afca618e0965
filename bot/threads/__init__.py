"""Alert threads: every alert message the bot posts is the root of a thread that tells what happened to the alert
(acknowledged, notes, escalations, a linked incident…), and, where a channel opts in, replies there become notes.

- ``syntax``: ``/rootly threads on|off|status``
- ``store``: opted-in channels, events told per thread, messages made into notes
- ``render``: the thread replies, as pure functions of timeline events
- ``service``: :class:`ThreadStory` (events → replies, once) and :class:`ThreadNotes` (replies → notes)
- ``jobs``: coalescing a storm of changes on one alert into one run
- ``listener``: the Events API ``message`` listener, the shortcut and the command
"""
