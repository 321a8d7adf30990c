"""The key vault: the epoch data keys, wrapped by the key-encryption key, in a database of their own
(models, store, holdings). The service's secrets are loaded by service.secrets."""
