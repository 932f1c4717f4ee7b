"""Fixtures shared across the test suite."""

from pathlib import Path

import pytest

from toolchain import build_program


@pytest.fixture(scope="session")
def hello_elf() -> Path:
    """tests/programs/hello.elf, built once per test run."""
    return build_program("hello")
