"""The operator's pages: organisations, people, credentials, tracing grants and territories."""
