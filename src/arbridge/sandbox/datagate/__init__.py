"""A simulated DataGate account and the invoice exports it writes (framework-free)."""
