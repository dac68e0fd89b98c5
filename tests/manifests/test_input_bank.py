"""Every answer of the input bank (tests/support/wrong_answers_input.py), graded in process by the
trusted re-check of the solution notebook's test cells: exactly its ``lose`` cells fail, every
other cell of the notebook passes with the other (solution) answers, and the messages say why."""

from __future__ import annotations

import pytest

from support.nbtools import SOLUTIONS, assert_loses_exactly, read
from support.wrong_answers_input import ALIAS_BOMB, INPUT_BANK

NOTEBOOKS = {name: read(SOLUTIONS / name / f"{name}.ipynb") for name in sorted({w.notebook for w in INPUT_BANK})}


@pytest.mark.parametrize("wrong", INPUT_BANK, ids=lambda w: f"{w.answer}: {w.label}")
def test_input_bank_answer_loses_exactly_its_cells(wrong) -> None:  # type: ignore[no-untyped-def]
    assert_loses_exactly(NOTEBOOKS[wrong.notebook], wrong)


def test_the_alias_bomb_is_small_and_really_expands_past_every_limit() -> None:
    import yaml

    assert len(ALIAS_BOMB.encode()) < 700
    composed = yaml.compose(ALIAS_BOMB)  # PyYAML composes it fine: the expansion is what explodes

    def expanded(node, seen={}):  # noqa: B006 - memo across calls is intended
        if id(node) not in seen:
            children = node.value if isinstance(node.value, list) else []
            seen[id(node)] = 1 + sum(expanded(c) for pair in children for c in (pair if isinstance(pair, tuple) else (pair,)))
        return seen[id(node)]

    assert expanded(composed) > 40_000_000
