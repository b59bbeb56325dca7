"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): the functions holding the
most samples, by their own time and including what they call.

Run: .venv/bin/python -m bench.profile_summary PROFILE.txt [--top N]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")
_REPO = str(Path(__file__).resolve().parent.parent) + "/"


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "python3.11/", _REPO):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def summarise(path: Path, top: int = 25) -> dict[str, list[tuple[str, float]]]:
    """Shares (percent of all samples) of the top functions by self and by inclusive time."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if total == 0:
        return {"self": [], "inclusive": []}
    return {
        "self": [(name, round(100 * n / total, 1)) for name, n in own.most_common(top)],
        "inclusive": [(name, round(100 * n / total, 1)) for name, n in inclusive.most_common(top)],
        "samples": [("total", float(total))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for kind, rows in summarise(args.profile, args.top).items():
        print(f"== {kind}")
        for name, share in rows:
            print(f"{share:6.1f}  {name}")


if __name__ == "__main__":
    main()
