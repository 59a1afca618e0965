"""Benchmarks of the bot's Slack acknowledgement path (see bench/README.md)."""
