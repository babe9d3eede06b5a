"""Messages out to people and systems other than customers: Slack incoming webhooks and signed webhooks."""
