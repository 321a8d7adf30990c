"""Retention: policies per data class, purge and crypto-shredding jobs (the retention issue fills this).

What is already in place for it: every table names its data class (`__data_class__` on the model;
reports carry a `data_class` column), every row has an hour or timestamp and an epoch day, and every
payload is encrypted under its epoch's data key (crypto.keyring), so destroying one day's key makes
that day's ciphertexts unreadable everywhere.
"""
