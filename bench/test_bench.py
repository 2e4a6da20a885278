"""``pytest bench -m bench``: the benchmark runs end to end on a small corpus (figures are printed, not checked)."""
import pytest

from bench import bench as bench_module


@pytest.mark.bench
def test_benchmark_runs_on_a_small_corpus(capsys) -> None:
    bench_module.main(["--mb", "1", "--sample-mb", "0.2", "--skip-jionlp", "--cold-runs", "1", "--sizes", "10k,100k"])
    out = capsys.readouterr().out
    assert "extract, 1 worker" in out and "cold start" in out and "stages over a sample" in out
    assert "by document size" in out and " 100 kB " in out
