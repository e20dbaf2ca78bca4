"""Reading and writing starter files.

Layer: exercises. The starters are modules of ``minigrad.exercises.starters``
(so they ship with the package without package-data entries); they are read as
text, never imported.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from minigrad.exercises.catalog import get

__all__ = ["starter_source", "write_starter"]


def starter_source(name: str) -> str:
    """The text of the starter file of exercise ``name``.

    Raises
    ------
    KeyError
        No such exercise.
    """
    get(name)
    files = resources.files("minigrad.exercises.starters")
    return files.joinpath(f"{name}.py").read_text(encoding="utf-8")


def write_starter(name: str, directory: str | Path = ".", force: bool = False) -> Path:
    """Writes ``<directory>/<name>.py`` (creating the directory) and returns its path.

    Raises
    ------
    KeyError
        No such exercise.
    FileExistsError
        The file exists and ``force`` is False.
    """
    text = starter_source(name)
    path = Path(directory) / f"{name}.py"
    if path.exists() and not force:
        raise FileExistsError(
            f"{path} already exists; pass --force to overwrite it (your work in it "
            "would be lost)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
