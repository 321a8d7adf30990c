"""The pharmacy counter: report a signal in one click, issue a verification code (pages for people)."""
