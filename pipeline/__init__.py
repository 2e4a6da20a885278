"""Chinese COVID-19 bulletins → quantitative claims → tidy Parquet tables.

Library API (the CLI is a thin shell over it)::

    from pipeline import run, extract, build_tables, write_tables
    tables = build_tables(run(["seeds"]))

In a notebook, over an output folder::

    from pipeline import load, sql
    out = load("outputs")          # .documents .paragraphs .claims .rejections
    sql("outputs", "select category, count(*) from claims group by 1")
"""
__version__ = "0.1.0"

from .api import Extraction, extract, extract_document, run  # noqa: E402
from .tables import Tables, build_tables, read_tables, write_tables  # noqa: E402
from .notebook import load, sql  # noqa: E402

__all__ = ["__version__", "Extraction", "extract", "extract_document", "run", "Tables", "build_tables", "read_tables", "write_tables", "load", "sql"]
