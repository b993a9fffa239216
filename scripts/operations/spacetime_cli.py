"""Finds and runs the spacetime-backup binary for the operations guide's Python entry points
(backup_manager.py, backup_monitoring.py, restore_manager.py). Standard library only."""
import json
import os
import shutil
import subprocess
import sys

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary():
    """SPACETIME_BACKUP_BIN, else spacetime-backup on PATH, else this checkout's build/."""
    path = (os.environ.get("SPACETIME_BACKUP_BIN") or shutil.which("spacetime-backup")
            or os.path.join(_CHECKOUT, "build", "spacetime-backup"))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.stderr.write("error: spacetime-backup not found or not executable: %s (set SPACETIME_BACKUP_BIN "
                         "or install it as /usr/local/bin/spacetime-backup)\n" % path)
        raise SystemExit(127)
    return path


def exec_tool(args):
    """Replaces this process with the tool: its report, exit status and signals are the script's."""
    tool = binary()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(tool, [tool] + list(args))


def run_json(args):
    """Runs the tool, returns (exit status, parsed JSON report or None); stderr passes through."""
    proc = subprocess.run([binary()] + list(args), stdout=subprocess.PIPE, check=False)
    try:
        report = json.loads(proc.stdout.decode("utf-8", "replace")) if proc.stdout.strip() else None
    except ValueError:
        report = None
    return proc.returncode, report
