"""Chinese COVID-19 bulletins → quantitative claims → tidy Parquet tables.

Library API (the CLI is a thin shell over it)::

    from pipeline import run, extract, build_tables, write_tables
    tables = build_tables(run(["seeds"]))
"""
__version__ = "0.1.0"

from .api import Extraction, extract, extract_document, run  # noqa: E402
from .tables import Tables, build_tables, read_tables, write_tables  # noqa: E402

__all__ = ["__version__", "Extraction", "extract", "extract_document", "run", "Tables", "build_tables", "read_tables", "write_tables"]
