"""Reading a run's tables in a notebook: pandas DataFrames and DuckDB SQL.

Reads: an output folder written by ``bulletin extract`` (``documents.parquet``,
``paragraphs.parquet``, ``claims.parquet``, ``rejections.parquet``, ``facts.parquet``); a table
may also be a *dataset folder* of Parquet files (``DIR/claims/*.parquet``, hive
partitions such as ``DIR/claims/category=cases/part-0.parquet`` included).
Writes nothing.

    from pipeline import load, sql
    out = load("outputs")
    out.claims.groupby("category", observed=True).value.sum()
    sql("outputs", "select township, sum(value) from claims where category = 'personnel' group by 1")

When both ``DIR/claims.parquet`` and ``DIR/claims/`` exist the single file wins.
A table that is missing altogether comes back empty, with the schema's columns.

A folder written by ``bulletin extract`` keeps each run in a generation folder
(:mod:`pipeline.outfolder`); :func:`load`, :func:`connect` and :func:`sql` read
which generation is current once and take every table from it, so they never mix
two runs, even while a run switches the next one in. :func:`load` also checks
that the tables carry one run id (``bulletin.run_id`` in their Parquet metadata;
a table without it, e.g. one rewritten by hand, is not checked) and raises
:class:`MixedRunsError` otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .model import Bound, Category, ParagraphKind, PipelineError
from .batch.outfolder import current_generation, is_own_link
from .schema import TABLES

TABLE_NAMES = ("documents", "paragraphs", "claims", "rejections", "facts")
LOCALITY_LEVELS = ("province", "city", "county", "township", "village", "locality")

# Categorical columns: table -> column -> fixed categories (in this order) or None (the observed values, sorted).
_CATEGORICAL: dict[str, dict[str, tuple[str, ...] | None]] = {
    "documents": {"format": ("txt", "html", "pdf")},
    "paragraphs": {"kind": tuple(k.value for k in ParagraphKind)},
    "claims": {
        "category": tuple(c.value for c in Category),
        "bound": tuple(b.value for b in Bound),
        "unit": None,
        **{level: None for level in LOCALITY_LEVELS},
    },
    "rejections": {"reason": None},
    "facts": {
        "category": tuple(c.value for c in Category if c is not Category.date),
        "bound": tuple(b.value for b in Bound),
        "unit": None,
        **{level: None for level in LOCALITY_LEVELS},
    },
}


class MixedRunsError(PipelineError):
    """The tables of an output folder were written by different runs."""


def table_sources(folder: str | Path) -> dict[str, Path | None]:
    """Every table's source (see :func:`table_source`), with the folder's current
    generation read once: all of them come from one run."""
    folder = Path(folder)
    generation = current_generation(folder)
    return {name: _source(folder, generation, name) for name in TABLE_NAMES}


def table_source(folder: str | Path, name: str) -> Path | None:
    """The file ``DIR/name.parquet``, else the dataset folder ``DIR/name/``, else None
    (the tool's links lead into the current generation)."""
    folder = Path(folder)
    return _source(folder, current_generation(folder), name)


def _source(folder: Path, generation: Path | None, name: str) -> Path | None:
    for entry, is_single in ((f"{name}.parquet", True), (name, False)):
        path = folder / entry
        if is_own_link(path, entry):
            if generation is None:
                continue
            path = generation / entry
        if is_single and path.is_file():
            return path
        if not is_single and path.is_dir() and any(path.rglob("*.parquet")):
            return path
    return None


def read_table(folder: str | Path, name: str) -> pd.DataFrame:
    """One table as plain pandas (no categoricals), columns in schema order."""
    return _read_source(table_source(folder, name), name)


def _read_source(src: Path | None, name: str) -> pd.DataFrame:
    table = TABLES[name]
    if src is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in table.names})
    df = pd.read_parquet(src)
    for col in df.columns:  # hive partition columns come back categorical: make them plain again
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object)
    known = [c for c in table.names if c in df.columns]
    extra = [c for c in df.columns if c not in table.names]
    df = df[known + extra]
    if src.is_dir() and set(table.sort_key) <= set(df.columns):
        df = df.sort_values(list(table.sort_key), kind="stable").reset_index(drop=True)
    return with_datetimes(df, name)


def with_datetimes(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The typed date columns (date32 in the Parquet files: ``iso_day``, ``date_day``,
    ``effective_date``) as pandas datetimes, which ``.dt``, ``resample`` and ``pd.Grouper``
    take; pandas would otherwise leave them as objects holding ``datetime.date``."""
    for col in TABLES[name].columns:
        if col.type == pa.date32() and col.name in df.columns:
            df[col.name] = pd.to_datetime(df[col.name])
    return df


def with_categoricals(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Categorical dtypes for the enumerated and low-cardinality columns of table `name`."""
    df = df.copy()
    for col, fixed in _CATEGORICAL.get(name, {}).items():
        if col not in df.columns:
            continue
        observed = sorted({str(v) for v in df[col].dropna()})
        cats = list(fixed or ()) + [v for v in observed if not fixed or v not in fixed]
        df[col] = df[col].astype(pd.CategoricalDtype(cats))
    return df


@dataclass
class Outputs:
    """The tables of one run, as DataFrames."""

    path: Path
    documents: pd.DataFrame
    paragraphs: pd.DataFrame
    claims: pd.DataFrame
    rejections: pd.DataFrame
    facts: pd.DataFrame

    def __getitem__(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}={len(self[n])}" for n in TABLE_NAMES)
        return f"Outputs({str(self.path)!r}: {sizes})"


def load(path: str | Path = "outputs", categorical: bool = True) -> Outputs:
    """Load an output folder's tables; categorical dtypes for category, bound, unit,
    paragraph kind, rejection reason and the locality levels unless `categorical` is False.

    Every table comes from one run: the current generation is read once, and tables
    that carry different run ids raise :class:`MixedRunsError`."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such output folder")
    for attempt in range(3):
        sources = table_sources(path)
        try:
            check_one_run(path, sources)
            frames = {name: _read_source(sources[name], name) for name in TABLE_NAMES}
            break
        except FileNotFoundError:
            # A run switched the next generation in and removed this one while it was
            # being read: read the new one, whole.
            if attempt == 2:
                raise
    if categorical:
        frames = {name: with_categoricals(df, name) for name, df in frames.items()}
    return Outputs(path, **frames)


def run_ids(src: Path) -> set[str | None]:
    """The run ids the Parquet files of a table source carry (None: a file without one)."""
    import pyarrow.parquet as pq

    from .tables import RUN_ID_KEY

    files = [src] if src.is_file() else sorted(src.rglob("*.parquet"))
    found: set[str | None] = set()
    for f in files:
        value = (pq.read_schema(f).metadata or {}).get(RUN_ID_KEY)
        found.add(value.decode("ascii", "replace") if value else None)
    return found


def check_one_run(folder: Path, sources: dict[str, Path | None]) -> None:
    """Raise :class:`MixedRunsError` when the tables carry more than one run id."""
    seen: dict[str, str] = {}  # run id -> first table carrying it
    for name, src in sources.items():
        if src is None:
            continue
        for run in sorted(r for r in run_ids(src) if r is not None):
            seen.setdefault(run, name)
    if len(seen) > 1:
        (a, name_a), (b, name_b) = list(seen.items())[:2]
        raise MixedRunsError(
            f"{folder}: the tables come from different runs ({name_a}: run {a}; {name_b}: run {b}): "
            "run bulletin extract again, or copy a whole output folder"
        )


def _sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def connect(path: str | Path = "outputs", con=None):
    """A DuckDB connection with one view per table of the folder (documents, paragraphs,
    claims, rejections, facts), each over its Parquet file or dataset folder, all from the run
    that is current when it connects (connect again after a new run). Needs the ``sql`` extra."""
    from .extras import require

    duckdb = require("duckdb", "sql", "SQL over the tables (pipeline.sql, pipeline.notebook.connect)")

    path = Path(path)
    con = con or duckdb.connect()
    for name, src in table_sources(path).items():
        if src is None:
            continue
        if src.is_dir():
            glob = (src / "**" / "*.parquet").as_posix()
            source = f"read_parquet({_sql_string(glob)}, hive_partitioning = true, union_by_name = true)"
        else:
            source = f"read_parquet({_sql_string(src.as_posix())})"
        con.execute(f'create or replace view "{name}" as select * from {source}')
    return con


def sql(path: str | Path, query: str) -> pd.DataFrame:
    """Run one DuckDB query over an output folder's tables; the result as a DataFrame."""
    con = connect(path)
    try:
        return con.execute(query).df()
    finally:
        con.close()
