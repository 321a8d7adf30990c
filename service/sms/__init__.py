"""Text messages: the anonymous SMS reporting channel, its outbox, and codes and notices sent by SMS."""
