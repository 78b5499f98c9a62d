"""What the bot does for each kind of request, channel-agnostic: events in, replies out."""
