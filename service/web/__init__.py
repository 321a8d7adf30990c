"""The web pages: the shell every audience's pages share (service.web.shell, .pages, .views)."""
