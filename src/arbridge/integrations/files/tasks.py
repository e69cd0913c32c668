"""Jobs: look in the watched folders for new files, hourly."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from arbridge.core.models import Connection
from arbridge.integrations.files.imports import scan_folder, takes_files

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="7"))
def scan_watched_folders() -> None:
    """Receive the files placed in the folder of every connection that watches its own."""
    for connection in Connection.objects.filter(status=Connection.Status.CONNECTED):
        if takes_files(connection) and connection.preferences.get("watch_folder"):
            for received in scan_folder(connection):
                logger.info("%s: %s %s", connection, received.file, received.file.status)
