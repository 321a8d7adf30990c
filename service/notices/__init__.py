"""Alert notices: a prevention service is told, by SMS or e-mail, that a week has something to look at."""
