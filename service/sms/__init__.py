"""The SMS channel: residents text a keyword to a municipal number and get a reply."""
