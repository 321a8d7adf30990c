"""The field service coordinator's pages: the service's devices, enrollment codes, revocation."""
