"""Data keys at rest (wrapped by the KEK) and the loading of the service's secrets."""
