"""The README's measured numbers are the site's facts, written in by a command, never typed.

README.md cannot run the site's markers, so `python docs/_tools/readme_facts.py` (run by `make
docs-assets`) writes its marked blocks from the facts; these tests fail when a block is stale or
edited by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import readme_facts
import site_facts

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def facts() -> dict[str, str]:
    return site_facts.all_facts()


def blocks(readme: str) -> dict[str, str]:
    return {match["name"]: match["body"] for match in readme_facts.BLOCK.finditer(readme)}


def test_every_block_is_what_the_command_writes_from_the_facts(facts):
    readme = README.read_text(encoding="utf-8")
    assert set(blocks(readme)) == set(readme_facts.TEMPLATES)
    assert readme_facts.rewrite(readme, facts) == readme, (
        "README.md's facts blocks are stale: run python docs/_tools/readme_facts.py"
    )


def test_each_number_of_a_block_is_a_fact_or_a_const(facts):
    """Every number in a block comes from a fact or a const that its template names."""
    for name, body in blocks(README.read_text(encoding="utf-8")).items():
        template = readme_facts.TEMPLATES[name]
        values = [
            site_facts.fill(match.group(0), facts) for match in site_facts.MARKER.finditer(template)
        ]
        words = " ".join(body.split())
        for value in values:
            assert value in words, (name, value)
        prose = " ".join(re.sub(r"`[^`]*`", " ", words).split())
        numbers = re.findall(r"\d[\d,]*\.\d+%?|\d[\d,]*%", prose)  # measured-looking ones
        generated = " ".join(values)
        typed = [number for number in numbers if number not in generated]
        assert typed == [], f"block {name!r} holds numbers no fact gave: {typed}"


def test_a_number_edited_by_hand_is_found(facts):
    readme = README.read_text(encoding="utf-8")
    accuracy = facts["reference.test_accuracy"]
    assert accuracy in blocks(readme)["zoo"]
    tampered = readme.replace(f"reached {accuracy}", "reached 99.99%", 1)
    assert tampered != readme
    assert readme_facts.rewrite(tampered, facts) == readme  # the command puts the fact back
    assert readme_facts.main(["--check"]) == 0


def test_a_lost_block_is_an_error(facts):
    readme = README.read_text(encoding="utf-8")
    without = readme_facts.BLOCK.sub("", readme, count=1)
    with pytest.raises(site_facts.FactError, match="lost its facts blocks: train"):
        readme_facts.rewrite(without, facts)
