"""WSGI entry point: `app` for a production server, `python wsgi.py` for development."""

from app import create_app
from app.logs import configure_logging
from config import Settings

settings = Settings.from_env()
configure_logging(settings.log_level)
app = create_app(settings)

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=app.extensions["settings"].port, threaded=True)
