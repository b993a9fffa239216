#!/usr/bin/env python3
"""The operations guide's restore entry point, over spacetime-backup.

Command line:
  restore_manager.py BACKUP_ID [local|s3|azure|gcs]
      spacetime-backup restore BACKUP_ID LOCATION: every component in the guide's order
      (configuration, database, redis, player saves, application), each verified; the JSON report
      with rto_seconds on stdout; exit status 0 only when overall_success is true.

Module (scenario 3 of the guide):
  from restore_manager import RestoreManager
  manager = RestoreManager("20240103_142530", "s3")
  manager.restore_player_saves("/var/backups/player_saves/20240103_142530")   # True or False
  manager.last_report                                                         # the tool's report

restore_database / restore_redis / restore_player_saves / restore_configuration /
restore_application restore one component; restore_all() all of them. The optional path is the
guide's layout (.../<component>/<backup id>): its last part must be the manager's backup id.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import spacetime_cli  # noqa: E402

LOCATIONS = ("local", "s3", "azure", "gcs")
_BACKUP_ID = re.compile(r"^\d{8}_\d{6}$")


class RestoreManager:
    """Restores one backup (an id or 'latest') from one location through spacetime-backup."""

    def __init__(self, backup_id, restore_location="local"):
        if backup_id != "latest" and not _BACKUP_ID.match(str(backup_id)):
            raise ValueError("backup id must be YYYYMMDD_HHMMSS or 'latest', not %r" % (backup_id,))
        if restore_location not in LOCATIONS:
            raise ValueError("restore location must be one of %s, not %r" % (", ".join(LOCATIONS), restore_location))
        self.backup_id = backup_id
        self.restore_location = restore_location
        self.last_report = None

    def _restore(self, components=None, backup_path=None):
        if backup_path is not None:
            last = os.path.basename(os.path.normpath(str(backup_path)))
            if last != self.backup_id:
                raise ValueError("%s names backup %r, but this manager restores %r" % (backup_path, last, self.backup_id))
        args = ["restore", self.backup_id, self.restore_location, "--no-progress"]
        if components:
            args += ["--components", components]
        rc, self.last_report = spacetime_cli.run_json(args)
        return rc == 0 and bool(self.last_report and self.last_report.get("overall_success"))

    def restore_all(self):
        return self._restore()

    def restore_configuration(self, backup_path=None):
        return self._restore("configuration", backup_path)

    def restore_database(self, backup_path=None):
        return self._restore("database", backup_path)

    def restore_redis(self, backup_path=None):
        return self._restore("redis", backup_path)

    def restore_player_saves(self, backup_path=None):
        return self._restore("player_saves", backup_path)

    def restore_application(self, backup_path=None):
        return self._restore("application", backup_path)


def main(argv):
    if len(argv) == 1 and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) not in (1, 2) or (len(argv) == 2 and argv[1] not in LOCATIONS):
        sys.stderr.write("usage: restore_manager.py BACKUP_ID [local|s3|azure|gcs]\n")
        return 2
    spacetime_cli.exec_tool(["restore", argv[0], argv[1] if len(argv) == 2 else "local"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
