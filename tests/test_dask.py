"""The Dask path: a LocalCluster of 2 worker processes labels like relabel_frame, loading
the model once per worker; the CLI's --scheduler writes the same rows."""

import json
import subprocess
import sys

import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as c, distributed.Client(c) as client:
        yield c, client


@pytest.fixture(scope="module")
def frame(gold):
    return pd.DataFrame({"incident_no": [f"d{i}" for i in range(len(gold))],
                         "narrative": [g["text"] if i % 50 else "" for i, g in enumerate(gold)]})


def test_relabel_dask_equals_relabel_frame_and_loads_once_per_worker(cluster, frame, model):
    from crisis_nlp.batch.relabel import result_columns
    from crisis_nlp.batch.dask import relabel_dask

    _, client = cluster
    ddf = dd.from_pandas(frame, npartitions=6)
    out = relabel_dask(ddf, text_column="narrative")
    assert list(out.columns) == list(frame.columns) + result_columns()
    got = out.compute()
    want = model.relabel_frame(frame, text_column="narrative")
    assert got.index.tolist() == want.index.tolist()
    pd.testing.assert_frame_equal(got.astype(object), want.astype(object))
    loads = client.run(lambda: __import__("crisis_nlp.batch.dask", fromlist=["loads"]).loads)
    assert len(loads) == 2 and all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1


def test_cli_scheduler_writes_a_folder_of_parts(cluster, frame, model, tmp_path):
    c, _ = cluster
    src, out = tmp_path / "calls.parquet", tmp_path / "out.parquet"
    frame.to_parquet(src, index=False)
    p = subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "relabel", str(src), "-o", str(out),
                        "--text-field", "narrative", "--scheduler", c.scheduler_address, "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    got = pd.read_parquet(out)
    want = model.relabel_frame(frame, text_column="narrative")
    assert got["incident_no"].tolist() == want["incident_no"].tolist()
    assert [x if isinstance(x, str) else None for x in got["response_mode"]] == want["response_mode"].tolist()
    assert [list(x) if x is not None else None for x in got["categories"]] == want["categories"].tolist()
    assert got["error"].notna().sum() == sum(1 for t in frame["narrative"] if not t)


def test_unreachable_scheduler_is_a_clean_error(tmp_path):
    from crisis_nlp.batch.dask import relabel_on_cluster
    from crisis_nlp.errors import InputError

    src = tmp_path / "c.csv"
    src.write_text("text\nhello\n")
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        relabel_on_cluster(str(src), str(tmp_path / "o"), "tcp://127.0.0.1:1", timeout="1s")
