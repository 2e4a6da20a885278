"""The ``bulletin`` command: a thin shell over :mod:`pipeline.api`."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from . import __version__, api
from .batch.budget import DEFAULT_DOC_MEMORY, DEFAULT_DOC_TIMEOUT
from .review.evaluate import format_score, gold_doc_ids, load_claims_jsonl, score, score_to_dict
from .review.diff import diff_outputs, format_diff, parse_fail_on, should_fail
from .model import InputError, PipelineError
from .schema import render_schemas, write_schemas
from .tables import build_tables, claims_jsonl

EXIT_FAILED_DOCS = 2


class _StderrNotes(logging.Handler):
    """The pipeline's notes (such as the first run's gazetteer build) on stderr, as
    ``note: …``; click resolves stderr at each call, so a test runner's capture works."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"note: {self.format(record)}", err=True)


def _show_notes() -> None:
    logger = logging.getLogger("pipeline")
    if not any(isinstance(h, _StderrNotes) for h in logger.handlers):
        logger.addHandler(_StderrNotes())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


@click.group()
@click.version_option(__version__)
def cli() -> None:
    """Turn Chinese government COVID-19 bulletins into tables of quantitative claims."""
    _show_notes()


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs"), show_default=True, help="Folder for the tables.")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CSV with path, published[, title, url, locality].")
@click.option("--year", type=int, help="Year of dates that give none, when neither text nor manifest tells.")
@click.option("--max-mb", type=float, default=50.0, show_default=True, help="Files larger than this fail with an error row.")
@click.option("-j", "--workers", type=click.IntRange(min=1), help="Processes (local engine) or LocalCluster workers (dask). Default: the number of cores.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True, help="local: this machine (a process pool when workers > 1); dask: a Dask cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786 (--engine dask). Default: a LocalCluster on this machine.")
@click.option("--incremental", is_flag=True, help="Skip documents unchanged (content, metadata, pipeline version) since the last --incremental run into OUT; a changed document replaces only its rows.")
@click.option("--dataset/--single-files", "dataset", default=None, help="Parquet datasets (one file per batch, partitioned by year) or single files. Default: datasets past 1000 documents or 64 MB of input.")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True, help="Documents per batch (one dataset file per batch; also capped at 16 MB of input).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (it is only drawn on a terminal anyway). The summary line is printed either way.")
@click.option("--keep-going/--fail-fast", default=True, show_default=True, help="On a file that cannot be read: give it an error row and go on (exit 2 at the end), or stop at once and write nothing.")
@click.option("--follow-symlinks", is_flag=True, help="Read what symlinks inside an input folder lead to outside it (by default they get an error row).")
@click.option("--doc-timeout", type=click.FloatRange(min=0), default=DEFAULT_DOC_TIMEOUT, show_default=True, metavar="SECONDS", help="Time budget per document; past it the document gets an error row. 0: none.")
@click.option("--doc-memory", type=click.IntRange(min=0), default=DEFAULT_DOC_MEMORY, show_default=True, metavar="MB", help="Memory budget per document (address space on top of the worker's); past it the document gets an error row. 0: none.")
def extract(inputs, out, manifest, year, max_mb, workers, engine, scheduler, incremental, dataset, batch_size, quiet, keep_going, follow_symlinks, doc_timeout, doc_memory) -> None:
    """Extract claims from bulletins (files or folders) and write Parquet tables to OUT.

    Exits 2 when any document could not be read or extracted (its error row names
    the reason: unreadable, an exception, a worker that died, a budget exceeded);
    with --keep-going (the default) the others are still written, with --fail-fast
    nothing is. Exits 2 without writing when no document can be read, and when OUT
    cannot be used (it is or holds an input, holds files of the tables' names that
    bulletin extract did not write, or another run is writing into it). The
    previous tables stay whole until a run ends: only then is the new run switched
    in, at once.
    """
    from .batch.runner import run_extract

    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    try:
        summary = run_extract(
            inputs, out, manifest=manifest, year=year, max_bytes=int(max_mb * 1024 * 1024), workers=workers,
            engine=engine, scheduler=scheduler, incremental=incremental, dataset=dataset, batch_size=batch_size, quiet=quiet,
            fail_fast=not keep_going, follow_symlinks=follow_symlinks, doc_timeout=doc_timeout or None, doc_memory=doc_memory or None,
        )
    except InputError as exc:
        for path, error in getattr(exc, "failed", ()):
            click.echo(f"error: {path}: {error}", err=True)
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED_DOCS)
    except OSError as exc:  # writing the tables (a full disk …): the previous run stays current
        where = exc.filename if exc.filename is not None else out
        click.echo(f"error: {where}: {exc.strerror or exc} (nothing switched: the previous tables in {out} are kept)", err=True)
        sys.exit(EXIT_FAILED_DOCS)
    except PipelineError as exc:
        raise click.ClickException(str(exc)) from exc
    for path, error in summary.failed:
        click.echo(f"error: {path}: {error}", err=True)
    for note in summary.notes():
        click.echo(f"warning: {note}", err=True)
    click.echo(summary.line(), err=True)
    if summary.failed:
        sys.exit(EXIT_FAILED_DOCS)


@cli.command("claims")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, help="Year of dates that give none.")
@click.option("--published", help="Publication date (ISO) of the file.")
def claims_cmd(file, year, published) -> None:
    """Print one file's claims as JSON lines (spec format), for reading by eye."""
    from .ingest import read_document
    from .model import DocumentMeta

    doc = read_document(file, DocumentMeta(published=published, default_year=year))
    if doc.error:
        raise click.ClickException(f"{file}: {doc.error}")
    tables = build_tables([api.extract_document(doc)])
    click.echo(claims_jsonl(tables.claims), nl=False)


@cli.command("eval")
@click.argument("gold", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--pred", required=True, type=click.Path(exists=True, path_type=Path), help="Output folder (claims.jsonl) or a claims JSONL file.")
@click.option("--errors", is_flag=True, help="List misses, spurious claims and wrong fields.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def eval_cmd(gold, pred, errors, as_json) -> None:
    """Score predicted claims against gold claims by the rules of docs/CLAIMS.md."""
    pred_path = pred / "claims.jsonl" if pred.is_dir() else pred
    result = score(load_claims_jsonl(list(gold)), load_claims_jsonl([pred_path]), docs=gold_doc_ids(list(gold)))
    if as_json:
        click.echo(json.dumps(score_to_dict(result), ensure_ascii=False, indent=2))
    else:
        click.echo(format_score(result, errors=errors))


@cli.command("diff")
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--fail-on", default=None, help="Comma list: any, added, removed, changed, or field names (value, category, locality…); 'none' never fails. Default: any.")
def diff_cmd(old, new, fmt, fail_on) -> None:
    """Compare two output folders claim by claim; exit 1 when they differ (see --fail-on)."""
    d = diff_outputs(old, new)
    click.echo(format_diff(d, fmt))
    sys.exit(1 if should_fail(d, parse_fail_on(fail_on)) else 0)


@cli.command("report")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("report.html"), show_default=True, help="NAME.html: one file; any other path: a folder with index.html and docs/ (one page per document).")
@click.option("--title", help="Page title (default: 'Claims review · FOLDER').")
@click.option("--mode", type=click.Choice(["auto", "single", "folder"]), default="auto", show_default=True, help="auto: by the suffix of OUT.")
def report_cmd(folder, out, title, mode) -> None:
    """Write a self-contained HTML review page of the run in FOLDER (claims highlighted in their paragraphs)."""
    from .review.report import write_report

    try:
        written = write_report(folder, out, title=title, mode=mode)
    except (PipelineError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(written)} page(s) -> {written[0]}", err=True)
    size = written[0].stat().st_size
    if len(written) == 1 and size > 20 * 1024 * 1024:
        click.echo(f"{written[0]} is {size // (1024 * 1024)} MB: for a big run write a folder instead (-o DIR: one page per document)", err=True)


@cli.command("explain")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--para", type=int, help="Only this paragraph (numbered from 0, as in paragraphs.parquet).")
@click.option("--year", type=int, help="Year of dates that give none.")
@click.option("--published", help="Publication date (ISO) of the file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per number instead of text.")
def explain_cmd(file, para, year, published, as_json) -> None:
    """Print every number of FILE: the claim it became, or the exclusion rule that rejected it."""
    from .review.explain import explain_file, format_explanation, verdict_dict

    ex, found = explain_file(file, para=para, published=published, year=year)
    if ex.document.error:
        raise click.ClickException(f"{file}: {ex.document.error}")
    if as_json:
        for v in found:
            click.echo(json.dumps(verdict_dict(v), ensure_ascii=False))
    else:
        click.echo(format_explanation(ex, found, para), nl=False)


@cli.command("schemas")
@click.option("--write", "folder", type=click.Path(file_okay=False, path_type=Path), help="Write the schema files into this folder.")
@click.option("--check", "check_folder", type=click.Path(file_okay=False, path_type=Path), help="Exit 1 when the files in this folder differ from the schema module.")
def schemas_cmd(folder, check_folder) -> None:
    """Export the table schemas (Frictionless Table Schema JSON) or check the exported ones."""
    if folder:
        for p in write_schemas(folder):
            click.echo(p)
    if check_folder:
        stale = [n for n, text in render_schemas().items() if not (check_folder / n).exists() or (check_folder / n).read_text(encoding="utf-8") != text]
        if stale:
            click.echo(f"out of date: {', '.join(stale)}", err=True)
            sys.exit(1)
    if not folder and not check_folder:
        for n, text in render_schemas().items():
            click.echo(f"# {n}\n{text}")


def main() -> None:
    cli()
