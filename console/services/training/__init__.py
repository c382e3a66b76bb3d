"""Training: session recording, replay, scenarios from recorded calls, scoring and masking."""
