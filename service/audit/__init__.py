"""The audit log: hash-chained entries with signed checkpoints (service.audit.log)."""
