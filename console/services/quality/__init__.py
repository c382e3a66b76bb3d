"""Quality: listening to agents' calls (monitoring) and recording them (call_recording)."""
