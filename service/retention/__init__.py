"""Retention in the service: the retention library (retention/) run over every domain's holdings."""
