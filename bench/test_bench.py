"""``pytest bench -m bench``: the benchmark runs end to end on a small corpus (figures are printed, not checked)."""
import pytest

from bench import bench as bench_module


@pytest.mark.bench
def test_benchmark_runs_on_a_small_corpus(capsys) -> None:
    bench_module.main(["--mb", "1", "--sample-mb", "0.2", "--skip-jionlp", "--cold-runs", "1", "--sizes", "10k,100k"])
    out = capsys.readouterr().out
    assert "extract, 1 worker" in out and "cold start" in out and "stages over a sample" in out
    assert "by document size" in out and " 100 kB " in out


@pytest.mark.bench
def test_against_compares_this_tree_with_a_commit_in_turns(capsys) -> None:
    sha, tree = bench_module.checkout("HEAD")
    assert (tree / "pipeline" / "__main__.py").is_file() and tree.name == f"rev-{sha[:12]}"
    bench_module.main(["--mb", "0.3", "--against", "HEAD", "--rounds", "2", "--slices", "2"])
    out = capsys.readouterr().out
    assert out.count("    round 1: this tree") == 1 and out.count("    round 2: this tree") == 1
    assert "the CPU time" in out and "all rounds: this tree" in out
    with pytest.raises(SystemExit, match="names no commit"):
        bench_module.checkout("no-such-revision-anywhere")
