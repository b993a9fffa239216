#!/usr/bin/env python3
"""The operations guide's backup entry point, over spacetime-backup:

  backup_manager.py full                         spacetime-backup backup full
  backup_manager.py incremental [LAST_BACKUP]    spacetime-backup backup incremental [LAST_BACKUP]

LAST_BACKUP is a backup id or a path whose last part is one (/var/backups/db/20240103_142530);
without it the newest backup is the parent. The JSON report is printed on stdout and the exit
status is the tool's: 0 only when overall_success is true. Settings come from the environment
(the guide's variables) and /etc/spacetime/backup.toml; the binary from SPACETIME_BACKUP_BIN,
PATH, or this checkout's build/.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import spacetime_cli  # noqa: E402


def main(argv):
    if len(argv) == 1 and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) == 1 and argv[0] == "full":
        spacetime_cli.exec_tool(["backup", "full"])
    if len(argv) in (1, 2) and argv[0] == "incremental":
        spacetime_cli.exec_tool(["backup", "incremental"] + argv[1:])
    sys.stderr.write("usage: backup_manager.py full | incremental [LAST_BACKUP_PATH]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
