"""benchmarks/bench_models.py: a tiny smoke run of the whole-network race."""
import importlib.util
import pathlib

import pytest

import retrograd

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_models.py"


@pytest.fixture(scope="module")
def bench_models():
    spec = importlib.util.spec_from_file_location("bench_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_times_every_model_and_restores_the_threads(bench_models, capsys):
    if not retrograd.native_available():
        pytest.skip("native backend not built")
    threads = retrograd.get_num_threads()
    rows = bench_models.main(["--quick", "--contenders", "native"])
    assert retrograd.get_num_threads() == threads
    assert [r["model"] for r in rows] == list(bench_models.MODELS)
    for row in rows:
        assert row["batch"] == 4 and row["threads"] == 1
        assert row["native"] > 0 and row["numpy"] is None and row["torch"] is None
    assert "resnet20" in capsys.readouterr().out


def test_quick_run_races_torch_on_the_resnet(bench_models):
    pytest.importorskip("torch")
    if not retrograd.native_available():
        pytest.skip("native backend not built")
    rows = bench_models.main(["--quick", "--models", "resnet20", "--contenders",
                              "native,torch"])
    assert len(rows) == 1 and rows[0]["torch"] > 0
    assert rows[0]["nat/torch"] == pytest.approx(rows[0]["native"] / rows[0]["torch"])


def test_unknown_model_is_refused(bench_models):
    with pytest.raises(SystemExit):
        bench_models.main(["--models", "alexnet"])
