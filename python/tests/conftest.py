"""Shared fixtures: the shared test data (``<repo>/../shared``) and the ``stemma`` command to compare with."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def copy_writable(src, dst):
    """Copy a (possibly read-only) shared corpus file; the copy is the user's own writable file."""
    out = shutil.copy(src, dst)
    os.chmod(out, 0o644)
    return out


@pytest.fixture(scope="session")
def shared() -> Path:
    """``<repo>/../shared``; missing shared data fails the tests unless STEMMA_ALLOW_MISSING_SHARED=1."""
    if not SHARED.is_dir():
        if os.environ.get("STEMMA_ALLOW_MISSING_SHARED") == "1":
            pytest.skip(f"{SHARED} is missing (STEMMA_ALLOW_MISSING_SHARED=1)")
        pytest.fail(f"{SHARED} is missing (set STEMMA_ALLOW_MISSING_SHARED=1 to skip)")
    return SHARED


@pytest.fixture(scope="session")
def stemma_bin() -> str:
    """The command built by cargo: $STEMMA_BIN, else target/debug/stemma, built when missing."""
    explicit = os.environ.get("STEMMA_BIN")
    if explicit:
        return explicit
    path = REPO / "target" / "debug" / "stemma"
    if not path.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "stemma-cli"], cwd=REPO, check=True)
    return str(path)


@pytest.fixture
def cli(stemma_bin):
    """Run the command; ``cli.show(path)`` gives its ``show --json`` objects."""

    class Cli:
        bin = stemma_bin

        def run(self, *args, check=True):
            return subprocess.run([stemma_bin, *map(str, args)], capture_output=True, text=True, check=check)

        def show(self, *paths):
            out = self.run("show", "--json", *paths, check=False).stdout
            return [json.loads(line) for line in out.splitlines() if line.strip()]

    return Cli()


@pytest.fixture
def exiftool():
    """ExifTool when available ($STEMMA_EXIFTOOL, else on PATH), or None."""
    explicit = os.environ.get("STEMMA_EXIFTOOL")
    if explicit and os.access(explicit, os.X_OK):
        return explicit
    return shutil.which("exiftool")
