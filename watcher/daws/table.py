"""The DAW table: one row per DAW, each defined beside its content check.

Adding a DAW is one `DawFormat` row here (and its check in the module of its family).
Bounce folders are named only where daw-formats.md section 4 names one. Where the
location is the user's choice (Ableton, FL Studio, REAPER, Audacity, Cakewalk, Bitwig,
Reason), only a same-named audio file beside the project counts as its preview.
"""

from __future__ import annotations

from watcher.daws.ableton import ABLETON
from watcher.daws.base import DawFormat
from watcher.daws.binary import BITWIG, CUBASE, FL_STUDIO, NUENDO, PRO_TOOLS
from watcher.daws.lmms import LMMS
from watcher.daws.logic import GARAGEBAND, LOGIC_PRO
from watcher.daws.text import ARDOUR, AUDACITY, CAKEWALK, REAPER, REASON
from watcher.daws.zipped import DAWPROJECT, RENOISE, STUDIO_ONE

FORMATS: tuple[DawFormat, ...] = (
    ABLETON,
    LOGIC_PRO,
    GARAGEBAND,
    FL_STUDIO,
    PRO_TOOLS,
    CUBASE,
    NUENDO,
    REAPER,
    STUDIO_ONE,
    BITWIG,
    REASON,
    ARDOUR,
    AUDACITY,
    DAWPROJECT,
    RENOISE,
    LMMS,
    CAKEWALK,
)
