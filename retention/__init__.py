"""Retention: policies per data class, purge and crypto-shredding, as a library.

Every table names its data class (`__data_class__` on the model; reports carry a `data_class`
column), every row has an hour or timestamp and an epoch day, and every payload is encrypted under
its epoch's data key (crypto.keyring), so destroying one day's key makes that day's ciphertexts
unreadable everywhere.

This package knows no domain and imports nothing of the service: each domain declares its
holdings beside its models (service/<domain>/holdings.py), and the service hands Retention the
collected holdings, its audit log and its key vault (retention.collaborators). The scheduler that
runs a pass at an interval is the service's (service.scheduler).
"""
