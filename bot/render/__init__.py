"""Pure functions from domain objects to Slack messages (slack_sdk Block Kit models). No I/O."""
