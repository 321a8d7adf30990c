"""Field devices: one-time enrollment codes exchanged for a per-device credential."""
