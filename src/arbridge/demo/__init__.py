"""The demo's connections: each built kind's sandbox, as its own package declares it."""
