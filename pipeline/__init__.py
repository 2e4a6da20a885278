"""Chinese COVID-19 bulletins → quantitative claims → tidy Parquet tables.

Library API (the CLI is a thin shell over it)::

    from pipeline import run, extract, build_tables, write_tables
    tables = build_tables(run(["seeds"]))

In a notebook, over an output folder::

    from pipeline import load, sql
    out = load("outputs")          # .documents .paragraphs .claims .rejections .facts
    sql("outputs", "select category, count(*) from claims group by 1")
"""
__version__ = "0.1.0"

from .api import Extraction, extract, extract_document, run  # noqa: E402

# The table and notebook functions need pandas, whose import costs about half a second
# that an extract run (in every worker process) does not need: they are imported on
# first use (PEP 562), so ``from pipeline import load`` works as before.
_LAZY = {
    "Tables": "tables", "build_tables": "tables", "read_tables": "tables", "write_tables": "tables",
    "load": "notebook", "sql": "notebook",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once only
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = ["__version__", "Extraction", "extract", "extract_document", "run", "Tables", "build_tables", "read_tables", "write_tables", "load", "sql"]
