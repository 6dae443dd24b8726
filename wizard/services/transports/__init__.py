"""Ways to hand a message to the mail provider: one `Transport` protocol, typed errors."""
