#!/usr/bin/env python3
"""The operations guide's monitoring service, over spacetime-backup: the Prometheus exporter
(`spacetime-backup monitor`) on port 9091 with /metrics and /healthz. Arguments are passed on:

  backup_monitoring.py [--listen HOST:PORT] [--probe-interval SECONDS]

It runs until stopped (SIGTERM, Ctrl-C); its figures come from the catalog in BACKUP_STATE_DIR.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import spacetime_cli  # noqa: E402

if __name__ == "__main__":
    if sys.argv[1:] in (["-h"], ["--help"]):
        print(__doc__.strip())
        sys.exit(0)
    spacetime_cli.exec_tool(["monitor"] + sys.argv[1:])
