"""Records whose bytes the core cannot vouch for: queued, in flight or relinking in an
earlier life, or looked at while their project went out of sight. They are sent only once a walk has
seen the project again (`_unconfirmed`), never on the strength of an older check.
"""

from __future__ import annotations

from watcher.core.late import LateNews
from watcher.core.store import has_session


class Unconfirmed(LateNews):
    def _out_of_sight(self, path: str) -> None:
        """A stat found nothing while the project changed or was checked (its folder went
        offline, or it was deleted, the event late or lost), or its folder was offline
        when that look came back (seed 69674). What was queued was checked before it
        changed (seed 28553: a rewritten .aup3, open in Audacity, sent as queued), so, as
        a record of an earlier life, it waits for a walk to see its bytes again."""
        record = self.table.get(path)
        if record is not None and record.state in ("pending", "in_flight"):
            self._unconfirmed.add(path)  # in flight: held if its request fails

    def _confirm_restored(self, path: str) -> None:
        """A record queued or in flight in an earlier life, seen again by a walk: the
        walk's signature then decides, as for any record (sent only if its bytes are still
        those that were checked, else through the quiet period and the check again)."""
        self._unconfirmed.discard(path)
        self._replan_soft = True

    def _restored_not_found(self, root: str) -> None:
        """A record from an earlier life that the first walk of its folder did not find:
        the project is gone (deleted or moved while the daemon was down)."""
        gone = [p for p in self._unconfirmed if p in self.table and self.table[p].root == root]
        for path in gone:
            self._unconfirmed.discard(path)
            if self.table[path].state == "relinking":
                continue  # missing as any record a walk lacks; its PATCH says the rest
            if self.table[path].state == "in_flight":
                self._vanish(path)  # missing: its lookup keeps or drops it (seed 7101670)
            elif self._carried(path) or has_session(self.table[path]):
                self._vanish(path)  # it may have a session, or has one (seeds 55472, 20932)
            elif self.table.cancel(path):
                self._log("project_removed", path=path, action="pending import cancelled")
