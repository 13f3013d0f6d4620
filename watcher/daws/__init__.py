"""Which paths are DAW projects, and whether their bytes are what they claim.

One DAW (or one family) is one module: `ableton`, `logic` (Logic Pro, GarageBand),
`binary` (FL Studio, Pro Tools, Cubase/Nuendo, Bitwig), `text` (REAPER, Ardour,
Audacity, and the generic-only Reason and Cakewalk), `zipped` (Studio One, DAWproject,
Renoise) and `lmms`; each holds its rows and its content check. `table` lists the
rows, `registry` classifies paths, `junk` names what is never a project, `reading`
holds the bounded stream readers every check uses, and `base` the shared types.

Nothing here opens a file: checks read the open stream they are handed, in bounded
memory, within `Limits`.
"""

from __future__ import annotations

from watcher.daws.base import (
    DEFAULT_LIMITS,
    ContentCheck,
    DawFormat,
    Limits,
    NamesIn,
    SkipReason,
    TooLarge,
)
from watcher.daws.junk import (
    HEAVY_DIRS,
    is_junk_name,
    is_nosync,
    junk_reason,
    never_holds_projects,
    suffix_of,
)
from watcher.daws.logic import ALTERNATIVES
from watcher.daws.reading import check_generic
from watcher.daws.registry import (
    Candidate,
    Registry,
    Skipped,
    Verdict,
    project_type,
    title_for,
)
from watcher.daws.table import FORMATS

__all__ = [
    "ALTERNATIVES",
    "DEFAULT_LIMITS",
    "FORMATS",
    "HEAVY_DIRS",
    "Candidate",
    "ContentCheck",
    "DawFormat",
    "Limits",
    "NamesIn",
    "Registry",
    "SkipReason",
    "Skipped",
    "TooLarge",
    "Verdict",
    "check_generic",
    "is_junk_name",
    "is_nosync",
    "junk_reason",
    "never_holds_projects",
    "project_type",
    "suffix_of",
    "title_for",
]
