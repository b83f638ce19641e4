"""The README's measured numbers, written into it from the site's facts.

GitHub shows README.md as it is: it cannot run the site's `{{ fact ... }}` markers. So each
number the README quotes sits in a marked block,

    <!-- facts:begin NAME (written by python docs/_tools/readme_facts.py: do not edit) -->
    ...
    <!-- facts:end -->

that this command rewrites from the templates below, with the same markers as the pages, filled
from the same facts (`make docs-assets` runs it last). `--check` rewrites nothing and exits 1 when
a block is stale; tests/test_readme_facts.py does the same check.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import site_facts

ROOT = Path(__file__).resolve().parent.parent.parent
README = ROOT / "README.md"
COMMAND = "python docs/_tools/readme_facts.py"
BLOCK = re.compile(
    r"(?P<begin><!-- facts:begin (?P<name>[\w-]+)[^>]*-->\n)(?P<body>.*?)"
    r"(?P<end><!-- facts:end -->)",
    re.S,
)

TEMPLATES = {
    "train": """\
`make docs-assets` trained the same model at the same seed for the course site on
{{ fact generated.date }}, on {{ fact generated.machine }}: {{ fact reference.test_accuracy }}
test accuracy after {{ fact reference.epochs }} epochs and {{ fact reference.train_seconds }} s
of training ({{ fact reference.seconds_per_epoch }} s per epoch). The accuracy repeats at the
same seed; the seconds depend on the machine and on what else it is doing.
""",
    "site": """\
Its tables of models, layers, commands and hints are generated from the code on every build;
its figures and numbers come from `make docs-assets` and name the date and machine that made
them (the committed ones: {{ fact generated.date }}, {{ fact generated.minutes }} minutes on
{{ fact generated.machine }}).
""",
    "zoo": """\
The reference reached {{ fact reference.test_accuracy }} test accuracy after its
{{ fact reference.epochs }} epochs at seed 0 (`make docs-assets`, {{ fact generated.date }}).
`make bench` measures the zoo's performance targets and its time-to-accuracy table (epochs and
seconds until validation accuracy first reaches {{ const targets.thresholds }}): it trains every
model of the zoo over seeds {{ const targets.seeds }}, `best` included, whose runs alone took
{{ fact results.targets.best.train_minutes_min }} to
{{ fact results.targets.best.train_minutes_max }} minutes each in the committed run
({{ fact results.targets.date }}, on {{ fact results.targets.machine }}).
""",
}


def render(name: str, facts: dict[str, str]) -> str:
    """The text of block `name`, filled from `facts` (and the code, for consts), wrapped at 100
    columns like the rest of the README."""
    text = " ".join(site_facts.fill(TEMPLATES[name], facts).split())
    return textwrap.fill(text, width=100, break_long_words=False, break_on_hyphens=False) + "\n"


def rewrite(readme: str, facts: dict[str, str]) -> str:
    """`readme` with every block's text made again from the facts; unknown blocks fail."""

    def block(match: re.Match[str]) -> str:
        if match["name"] not in TEMPLATES:
            raise site_facts.FactError(
                f"README.md has a facts block {match['name']!r} that {COMMAND} does not know"
            )
        return match["begin"] + render(match["name"], facts) + match["end"]

    found = {match["name"] for match in BLOCK.finditer(readme)}
    missing = sorted(set(TEMPLATES) - found)
    if missing:
        raise site_facts.FactError(f"README.md lost its facts blocks: {', '.join(missing)}")
    return BLOCK.sub(block, readme)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a block is stale")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    new = rewrite(readme, site_facts.all_facts())
    if args.check:
        if new != readme:
            print(f"README.md's facts blocks are stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if new != readme:
        README.write_text(new, encoding="utf-8")
        print("README.md: facts blocks rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
