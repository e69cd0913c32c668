"""Outbound webhooks: a partner's endpoints, the events they pick, signed deliveries."""
