"""Logic Pro and GarageBand: bundles around Logic's binary `ProjectData`
(daw-formats.md 1.2 and 1.3)."""

from __future__ import annotations

import re
import struct
from collections.abc import Collection
from pathlib import PurePath
from typing import BinaryIO

from watcher.daws.base import DEFAULT_LIMITS, DawFormat, Limits, NamesIn
from watcher.daws.reading import size_of, text_head, xml_document

LOGIC_MAGIC = b"\x23\x47\xc0\xab"
ALTERNATIVES = "Alternatives"
BUNDLE_TOP_LEVEL = frozenset(
    {ALTERNATIVES, "Media", "Resources", "Bounces", "Output", "Contents", "projectData"}
)
"""Names at the top of a Logic/GarageBand bundle: an event under one of them may belong
to a bundle that lost its suffix (daw-formats.md 1.2, 1.3)."""
_ALTERNATIVE = re.compile(r"\d{3}")


def check_logic_project_data(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """`ProjectData` starts `23 47 C0 AB`; the u32 at 0x10 is the file size minus 24.

    The length field is documented by LogicProFormatWriter and holds in every real
    Logic and GarageBand bundle we have, so it doubles as a completeness proof.
    """
    header = stream.read(24)
    size = size_of(stream)
    if header[:4] != LOGIC_MAGIC:
        return "ProjectData is not Logic/GarageBand data (no 23 47 C0 AB magic)"
    if len(header) < 24:
        return "truncated: ProjectData is shorter than its header"
    (declared,) = struct.unpack_from("<I", header, 0x10)
    if declared != (size - 24) & 0xFFFFFFFF:
        return f"truncated: ProjectData declares {declared + 24} bytes, has {size}"
    return None


def check_garageband(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """GarageBand 10 has Logic's `ProjectData`; older bundles only a `projectData` plist."""
    head = text_head(stream, 8)
    if head.startswith(LOGIC_MAGIC):
        return check_logic_project_data(stream)
    if head.startswith(b"bplist"):
        return None
    if head.startswith(b"<"):
        return xml_document(stream, b"plist", "a GarageBand projectData plist")
    return "not GarageBand project data (neither ProjectData nor a plist)"


def looks_like_unsuffixed_bundle(folder: PurePath, names_in: NamesIn) -> bool:
    """A folder laid out like a Logic/GarageBand bundle (`Alternatives/NNN/ProjectData`)
    whose name lacks the suffix: what a share or an archive leaves of a `.logicx`.

    Only the layout is looked at here; the `ProjectData` magic is proved by the content
    check, like any bundle's.
    """
    alternatives = folder / ALTERNATIVES
    return any(
        _ALTERNATIVE.fullmatch(name) and "ProjectData" in names_in(alternatives / name)
        for name in names_in(alternatives)
    )


def unsuffixed_extension(names: Collection[str]) -> str:
    """The suffix such a bundle lost: GarageBand bundles keep a top-level `projectData`
    (beside `Contents/PkgInfo` `BNDLband`), Logic's do not (unconfirmed beyond the two
    real bundles we have)."""
    return ".band" if "projectData" in names else ".logicx"


_LOGIC_BACKUPS = ("Project File Backups", "Autosave")  # plus any `*.nosync` folder

LOGIC_PRO = DawFormat(
    kind="Logic Pro",
    extensions=(".logicx",),
    bundle=True,
    check=check_logic_project_data,
    content_files=("Alternatives/*/ProjectData",),
    backup_dirs=_LOGIC_BACKUPS,
    bounce_dirs=("Bounces",),
    bundle_bounce_dirs=("Bounces",),
)

GARAGEBAND = DawFormat(
    kind="GarageBand",
    extensions=(".band",),
    bundle=True,
    check=check_garageband,
    content_files=("Alternatives/*/ProjectData", "projectData"),
    backup_dirs=(*_LOGIC_BACKUPS, "Thumbs"),
    bundle_bounce_dirs=("Output", "Alternatives/*/Previews"),
)
