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
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .model import Bound, Category, ParagraphKind
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


def table_source(folder: str | Path, name: str) -> Path | None:
    """The file ``DIR/name.parquet``, else the dataset folder ``DIR/name/``, else None."""
    folder = Path(folder)
    single = folder / f"{name}.parquet"
    if single.is_file():
        return single
    dataset = folder / name
    if dataset.is_dir() and any(dataset.rglob("*.parquet")):
        return dataset
    return None


def read_table(folder: str | Path, name: str) -> pd.DataFrame:
    """One table as plain pandas (no categoricals), columns in schema order."""
    src = table_source(folder, name)
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
    paragraph kind, rejection reason and the locality levels unless `categorical` is False."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such output folder")
    frames = {}
    for name in TABLE_NAMES:
        df = read_table(path, name)
        frames[name] = with_categoricals(df, name) if categorical else df
    return Outputs(path, **frames)


def _sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def connect(path: str | Path = "outputs", con=None):
    """A DuckDB connection with one view per table of the folder (documents, paragraphs,
    claims, rejections, facts), each over its Parquet file or dataset folder."""
    import duckdb

    path = Path(path)
    con = con or duckdb.connect()
    for name in TABLE_NAMES:
        src = table_source(path, name)
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
