"""Regenerate the figure gallery: ``docs/gallery.md`` and a thumbnail per registered figure in ``docs/gallery/``.

For each registered figure (``figures.available()``, in registry order) the script finds the figure's quick-preset
data: ``NAME.json`` + ``NAME.params.json`` in the first ``--from`` folder (then the ``--data`` folder) whose
parameters equal the current quick preset; if there are none it makes the figure at the quick preset into
``--data`` (one figure at a time). It then draws the figure again from that JSON (``figures.draw``, in the package
style), checks that no legend covers plotted data (``figures.layout.legend_overlaps``), writes a small thumbnail
(``--width`` pixels wide, 256-colour PNG), evaluates the figure's claims on the data (``figures.claims``) and
records all of it in ``docs/gallery/index.json``; ``docs/gallery.md`` is written from that index.

    python scripts/make_gallery.py --from out/figures                # every figure (makes what is missing)
    python scripts/make_gallery.py --only icl_ngrams --from /tmp/q   # add or refresh one figure, keep the others
    python scripts/make_gallery.py --no-make                         # only re-plot what has data

With ``--only`` the other figures keep their recorded entries, and so does a figure for which no data are found with
``--no-make``; figures no longer registered are dropped. A figure that never had data is listed without a thumbnail (``tests/docs/test_gallery.py`` then fails until it is
made). Exit status 1 when a legend covers data in some thumbnail or a figure could not be made.
"""
from __future__ import annotations

import argparse
import io as bytes_io
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "agg")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib.pyplot as plt  # noqa: E402

import figures  # noqa: E402
from figures import claims as claims_mod  # noqa: E402
from figures import io, layout, style  # noqa: E402

DOC = ROOT / "docs" / "gallery.md"
THUMBS = ROOT / "docs" / "gallery"
INDEX = THUMBS / "index.json"


def find_data(name: str, folders: list[Path]):
    """(folder, data, params) from the first folder holding quick data made with the current quick preset."""
    wanted = io.to_jsonable(dict(figures.get(name).PRESETS["quick"]))
    for folder in folders:
        data_path, params_path = folder / f"{name}.json", folder / f"{name}.params.json"
        if not (data_path.is_file() and params_path.is_file()):
            continue
        try:
            stored = json.loads(params_path.read_text())
            if stored.get("preset") != "quick" or stored.get("params") != wanted:
                continue
            return folder, json.loads(data_path.read_text()), stored
        except (OSError, ValueError):
            continue
    return None


def thumbnail(fig, path: Path, width: int) -> tuple[int, int]:
    """Write ``fig`` as a ``width``-pixel-wide 256-colour PNG (1.5 x wider for a figure more than 2.2 times as wide
    as it is high, so that a row of panels stays legible); return its size in pixels."""
    from PIL import Image

    buffer = bytes_io.BytesIO()
    fig.savefig(buffer, format="png", dpi=3 * width / fig.get_figwidth(), bbox_inches="tight")
    image = Image.open(buffer).convert("RGB")
    if image.width > 2.2 * image.height:
        width = int(1.5 * width)
    height = max(1, round(image.height * width / image.width))
    image = image.resize((width, height), Image.LANCZOS).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = bytes_io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    io.atomic_write_bytes(path, out.getvalue())
    return width, height


def gallery_entry(name: str, folders: list[Path], data_dir: Path, make: bool, width: int) -> dict:
    module = figures.get(name)
    entry = {"name": name, "title": module.TITLE, "requires": list(getattr(module, "REQUIRES", ()))}
    found = find_data(name, folders + [data_dir])
    if found is None and make:
        print(f"{name}: no quick data found, making it into {data_dir} ...", flush=True)
        start = time.perf_counter()
        figures.make(name, preset="quick", outdir=data_dir)
        print(f"{name}: made in {time.perf_counter() - start:.0f} s", flush=True)
        found = find_data(name, [data_dir])
    if found is None:
        entry["status"] = "no quick data"
        return entry
    folder, data, stored = found
    with style.figure_style():
        fig = figures.draw(name, data, stored["params"])
        try:
            overlaps = [str(o) for o in layout.legend_overlaps(fig)]
            size = thumbnail(fig, THUMBS / f"{name}.png", width)
        finally:
            plt.close(fig)
    rows = claims_mod.evaluate(name, claims_mod.claims_of(module), data, stored["params"], "quick")
    entry.update(status="ok", source=str(folder), seconds=stored.get("seconds"), version=stored.get("version"),
                 thumbnail=f"gallery/{name}.png", size=list(size), overlaps=overlaps,
                 claims=[r.to_dict() for r in rows])
    print(f"{name}: thumbnail {size[0]}x{size[1]}, {(THUMBS / f'{name}.png').stat().st_size // 1024} KB, "
          f"{sum(r.holds for r in rows)}/{len(rows)} claims hold, "
          f"{'legends clear' if not overlaps else f'{len(overlaps)} legend overlap(s)'} (data: {folder})", flush=True)
    return entry


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "n/a" if value is None or value == "" else str(value)


def _claim_line(c: dict) -> str:
    if c["holds"]:
        verdict = "holds"
    elif c["expected"]:
        verdict = "**does not hold** (expected to hold at this preset)"
    else:
        verdict = "does not hold (not expected at this preset)"
    text = f"- `{c['claim']}`: {verdict}; measured {_value(c['value'])}. {c['statement']}"
    if c.get("error"):
        text += f" (measure failed: {c['error']})"
    if c.get("evidence") and not c["holds"]:
        text += f" Evidence: {c['evidence']}"
    return text


def markdown(entries: list[dict]) -> str:
    made = [e for e in entries if e.get("status") == "ok"]
    all_claims = [c for e in made for c in e["claims"]]
    expected = [c for c in all_claims if c["expected"]]
    lines = [
        "# Gallery of the reproduced figures",
        "",
        f"Every registered figure ({len(entries)}) at the `quick` preset (a 2-core CPU), drawn from its data files "
        "in the package style. Under each: what it shows, its paper's claims as evaluated by `figures.claims` on "
        "that figure's data (`robustbias figures check NAME`), and the command that makes it (add "
        "`--format png,pdf,svg` for vector files). Thumbnails are 600 pixels wide (900 for a row of panels); "
        "the command writes the full-size figure.",
        "",
        f"Claims: {len(all_claims)} in {len(made)} figures; {len(expected)} expected to hold at the quick preset, "
        f"{sum(c['holds'] for c in expected)} of them hold; {len(all_claims) - len(expected)} are stated as not "
        f"reproduced at this scale (with the evidence), {sum(c['holds'] for c in all_claims if not c['expected'])} "
        "of those hold anyway.",
        "",
        "Regenerate with `python scripts/make_gallery.py --from DIR` (re-plots from `DIR/NAME.json` made with the "
        "current quick preset, makes the missing figures; `--only NAME` refreshes one figure). Every thumbnail "
        "passes the legend check of `tests/figures/test_figure_layout.py` (no legend covers a plotted point) "
        "unless its entry says otherwise.",
        "",
        "| figure | claims that hold (expected / all) |",
        "|---|---|",
    ]
    for e in entries:
        if e.get("status") != "ok":
            lines.append(f"| [`{e['name']}`](#{e['name']}) | not made yet |")
            continue
        exp = [c for c in e["claims"] if c["expected"]]
        lines.append(f"| [`{e['name']}`](#{e['name']}) | {sum(c['holds'] for c in exp)}/{len(exp)} expected, "
                     f"{sum(c['holds'] for c in e['claims'])}/{len(e['claims'])} all |")
    for e in entries:
        lines += ["", f"### `{e['name']}`", ""]
        if e.get("status") == "ok":
            lines += [f"![{e['name']}]({e['thumbnail']})", ""]
        else:
            lines += ["*No quick data yet: run `python scripts/make_gallery.py --only "
                      f"{e['name']}`.*", ""]
        lines += [f"**Shows:** {e['title']}", ""]
        if e.get("status") == "ok":
            if e["claims"]:
                lines += ["**Claims** (quick preset, on this figure's data):", ""]
                lines += [_claim_line(c) for c in e["claims"]]
            else:
                lines += ["**Claims:** none declared."]
            if e["overlaps"]:
                lines += ["", "**Layout:** " + "; ".join(e["overlaps"])]
            lines.append("")
        took = f" (took {e['seconds']:.0f} s on a shared 2-core machine)" if e.get("seconds") else ""
        extra = " Needs the `deep` extra (torch)." if "torch" in e.get("requires", ()) else ""
        lines += [f"**Make it:** `robustbias figures make {e['name']} --preset quick --out out/figures`{took}.{extra}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="sources", action="append", default=[], metavar="DIR",
                        help="folder with quick-preset figure data (NAME.json, NAME.params.json); repeatable, "
                             "searched in order")
    parser.add_argument("--data", default="out/gallery-data",
                        help="where missing figures are made (and searched last); default out/gallery-data")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="refresh only these figures")
    parser.add_argument("--no-make", action="store_true", help="never compute: re-plot only figures with data")
    parser.add_argument("--width", type=int, default=600,
                        help="thumbnail width in pixels (default 600; 1.5 x for wide figures)")
    args = parser.parse_args(argv)

    available = list(figures.available())
    unknown = sorted(set(args.only or ()) - set(available))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; see `robustbias figures list`")
    THUMBS.mkdir(parents=True, exist_ok=True)
    old = {}
    if INDEX.is_file():
        old = {e["name"]: e for e in json.loads(INDEX.read_text())["figures"]}
    folders = [Path(p) for p in args.sources]
    data_dir = Path(args.data)
    entries, failed = [], []
    for name in available:
        if args.only and name not in args.only and name in old:
            entries.append(old[name])
            continue
        try:
            entry = gallery_entry(name, folders, data_dir, not args.no_make, args.width)
            if entry["status"] != "ok" and old.get(name, {}).get("status") == "ok":
                print(f"{name}: no quick data here, keeping its previous entry", flush=True)
                entry = old[name]
            entries.append(entry)
        except Exception as exc:                      # one broken figure must not lose the others' entries
            print(f"{name}: FAILED {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            failed.append(name)
            entries.append(old.get(name, {"name": name, "title": figures.get(name).TITLE, "status": "failed"}))
    for stale in set(old) - set(available):
        (THUMBS / f"{stale}.png").unlink(missing_ok=True)
    io.write_json(INDEX, {"figures": entries})
    io.atomic_write_bytes(DOC, markdown(entries).encode())
    overlapping = [e["name"] for e in entries if e.get("overlaps")]
    missing = [e["name"] for e in entries if e.get("status") != "ok"]
    print(f"wrote {DOC.relative_to(ROOT)} and {len(entries) - len(missing)} thumbnails; "
          f"no data: {missing or 'none'}; legend overlaps: {overlapping or 'none'}; failed: {failed or 'none'}")
    return 1 if overlapping or failed else 0


if __name__ == "__main__":
    sys.exit(main())
