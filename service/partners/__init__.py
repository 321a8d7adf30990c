"""Partner organisations, their credentials (API tokens) and role checks."""
