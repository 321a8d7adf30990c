"""People: the persons who use the web pages, each in one organisation, with a password and TOTP."""
