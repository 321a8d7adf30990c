"""gunicorn's configuration for safesignal: `gunicorn -c gunicorn.conf.py` (what `make run` does).

The settings, the address-free logger and the JSON-error worker are in service/gunicorn.py, which
an installed wheel also carries (`gunicorn -c python:service.gunicorn`); read its docstring first.
"""

from service.gunicorn import (  # noqa: F401  (gunicorn reads these names)
    accesslog,
    bind,
    control_socket_disable,
    errorlog,
    logger_class,
    post_worker_init,
    threads,
    worker_class,
    wsgi_app,
)
