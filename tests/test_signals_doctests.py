"""The examples in the signals docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["artifacts", "features", "states", "simulate", "motion", "additional_hr"])
def test_docstring_examples(name):
    module = importlib.import_module(f"attune.signals.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
