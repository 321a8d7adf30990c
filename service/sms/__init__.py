"""The SMS channel: residents text a keyword to a municipal number and it becomes a report."""
