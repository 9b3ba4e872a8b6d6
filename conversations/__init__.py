"""Conversation flows: the YAML format, its loader, and the pure engine that runs them."""
