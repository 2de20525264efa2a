"""A font with Chinese glyphs for the pictures (lineage graphs, quality trend plots).

Order: $RESPOOL_CJK_FONT (a font file); the Noto Sans CJK SC that the `mplfonts` package ships
(a project dependency, so every install has it); else any CJK font the system has. None means
the caller falls back to ASCII labels.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

CJK_FONT_ENV = "RESPOOL_CJK_FONT"
BUNDLED = ("NotoSansCJKsc-Regular.otf", "SimHei.ttf")
CJK_FILE_HINTS = ("notosanscjk", "notosanssc", "sourcehansans", "wqy-microhei", "wqy-zenhei", "uming",
                  "ukai", "droidsansfallback", "notoserifcjk")
CJK_NAME_HINTS = ("CJK", "WenQuanYi", "AR PL", "Source Han", "Droid Sans Fallback")


def _bundled() -> Path | None:
    try:
        folder = resources.files("mplfonts") / "fonts"
    except ModuleNotFoundError:
        return None
    for name in BUNDLED:
        candidate = Path(str(folder / name))
        if candidate.is_file():
            return candidate
    return None


@cache
def find_cjk_font() -> Path | None:
    configured = os.environ.get(CJK_FONT_ENV)
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    bundled = _bundled()
    if bundled:
        return bundled
    from matplotlib import font_manager

    files = sorted(font_manager.findSystemFonts())
    for hint in CJK_FILE_HINTS:
        for name in files:
            if hint in Path(name).name.lower().replace(" ", ""):
                return Path(name)
    for entry in font_manager.fontManager.ttflist:
        if any(hint in entry.name for hint in CJK_NAME_HINTS):
            return Path(entry.fname)
    return None


def use_cjk_font() -> str | None:
    """Register the CJK font with matplotlib and make it the default family; its name, or None."""
    path = find_cjk_font()
    if path is None:
        return None
    from matplotlib import font_manager, rcParams

    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    rcParams["font.family"] = [name, "DejaVu Sans"]
    rcParams["axes.unicode_minus"] = False
    return name
