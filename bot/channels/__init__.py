"""Channels: each turns its updates into handlers.events.Event and renders Replies; none decides."""
