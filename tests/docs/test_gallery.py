"""The gallery (docs/gallery.md, written by scripts/make_gallery.py) lists every registered figure with a committed,
small thumbnail, and the README's thumbnails exist (fast: reads files only)."""
import re
import struct
from pathlib import Path

import figures

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "docs" / "gallery.md"
MAX_BYTES = 150_000          # "a few tens of KB each": the repository stays light


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_the_gallery_lists_every_registered_figure_once():
    listed = re.findall(r"^### `([a-z0-9_]+)`$", GALLERY.read_text(), flags=re.M)
    assert sorted(listed) == sorted(set(listed)), "a figure is listed twice"
    missing = sorted(set(figures.available()) - set(listed))
    assert missing == [], f"not in docs/gallery.md: {missing}; run python scripts/make_gallery.py --only {' '.join(missing)}"
    assert sorted(set(listed) - set(figures.available())) == [], "the gallery lists figures that are not registered"


def test_every_gallery_entry_has_its_thumbnail_claims_and_command():
    text = GALLERY.read_text()
    sections = dict(re.findall(r"^### `([a-z0-9_]+)`$\n(.*?)(?=^### |\Z)", text, flags=re.M | re.S))
    for name in figures.available():
        body = sections[name]
        images = re.findall(r"!\[[^\]]*\]\((gallery/[^)]+\.png)\)", body)
        assert images == [f"gallery/{name}.png"], f"{name}: thumbnail link"
        path = GALLERY.parent / images[0]
        assert path.is_file(), f"{path} is missing"
        width, height = _png_size(path)
        assert width <= 1000 and path.stat().st_size <= MAX_BYTES, f"{path}: {width}x{height}, {path.stat().st_size} B"
        assert f"robustbias figures make {name} --preset quick" in body
        assert "**Shows:**" in body and ("**Claims**" in body or "**Claims:** none declared." in body)


def test_the_readme_shows_gallery_thumbnails_that_exist():
    images = re.findall(r"\((docs/gallery/[a-z0-9_]+\.png)\)", (ROOT / "README.md").read_text())
    assert len(images) >= 3
    for image in images:
        _png_size(ROOT / image)
