#!/usr/bin/env python3
"""The interop Django project's manage.py: `CACHESRVD_SOCKET=/path/to/sock python manage.py cachecheck`."""
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    # scripts/ holds interop_common.py, which the check command reports through.
    sys.path[:0] = [str(here), str(here.parent)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interop_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
