"""Reports from pharmacies and field devices: validation, screening, encryption, storage."""
