"""The UNDP Human Development Index 2022 (HDR 2023/24) through govlib: 193/193 countries to 3 decimals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.cli import main
from govlib.data.framework import load_framework
from govlib.index.composite import CompositeIndex

CAPPED_INCOME = ["IRL", "SGP", "QAT", "LIE"]  # REFERENCES.md: income index 1 (GNI per capita above 75,000)


@pytest.fixture(scope="module")
def hdi_ref(reference_dir):
    return pd.read_csv(reference_dir / "hdi" / "hdi_2022.csv")


@pytest.fixture(scope="module")
def example_dir(project_root):
    return project_root / "examples" / "hdi"


def test_example_data_is_the_reference_data(hdi_ref, example_dir):
    data = pd.read_csv(example_dir / "data.csv", dtype={"period": str})
    wide = data.pivot(index="unit", columns="indicator", values="value")
    ref = hdi_ref.set_index("iso3")
    assert len(wide) == 193
    for col in ("le", "eys", "mys", "gnipc"):
        np.testing.assert_allclose(wide.loc[ref.index, col], ref[col], rtol=1e-9)


def test_hdi_api_reproduces_193_of_193(hdi_ref, example_dir):
    fw = load_framework(example_dir / "framework.yaml")
    obs = pd.read_csv(example_dir / "data.csv", dtype={"period": str})
    ci = CompositeIndex(obs, fw)
    assert ci.scale == (0.0, 1.0)
    got = ci.root_scores().set_index("unit")["score"]
    ref = hdi_ref.set_index("iso3")["hdi"]
    matched = (got.reindex(ref.index).round(3) == ref)
    assert matched.sum() == 193, ref[~matched]
    income = ci.scores[ci.scores["node"] == "income"].set_index("unit")["score"]
    assert (income[CAPPED_INCOME] == 1.0).all()
    assert income.max() == 1.0  # capped, never above
    # Education is the arithmetic mean of its two sub-indices; the HDI the geometric mean of three.
    wide = ci.stages["aggregated"]
    np.testing.assert_allclose(wide["education"], (wide["eys"] + wide["mys"]) / 2)
    np.testing.assert_allclose(wide["HDI"], np.cbrt(wide["health"] * wide["education"] * wide["income"]))
    # The pre-2010 variant (arithmetic mean of the dimensions) via replay: never below the geometric mean.
    arith = ci.replay(node_aggregation={"HDI": "arithmetic"}).stages["aggregated"]["HDI"]
    np.testing.assert_allclose(arith, (wide["health"] + wide["education"] + wide["income"]) / 3)
    assert (arith >= wide["HDI"] - 1e-12).all()


def test_hdi_cli_reproduces_193_of_193(hdi_ref, example_dir, tmp_path, capsys):
    out = tmp_path / "hdi.csv"
    rc = main(["index", "--framework", str(example_dir / "framework.yaml"), "--data", str(example_dir / "data.csv"),
               "--out", str(out)])
    assert rc == 0
    res = pd.read_csv(out, dtype={"unit": str, "period": str})
    assert list(res.columns) == ["unit", "period", "node", "score", "rank"]
    hdi = res[res["node"] == "HDI"].set_index("unit")
    ref = hdi_ref.set_index("iso3")["hdi"]
    assert (hdi["score"].reindex(ref.index).round(3) == ref).sum() == 193
    assert hdi.loc["CHE", "rank"] == 1  # the published top country of HDR 2023/24


def test_cli_reports_user_errors_with_exit_2(tmp_path, example_dir, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,period,indicator,value\nAFG,2022,le,abc\n", encoding="utf-8")
    rc = main(["index", "--framework", str(example_dir / "framework.yaml"), "--data", str(bad),
               "--out", str(tmp_path / "o.csv")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "value" in err and "abc" in err
    missing = tmp_path / "nocol.csv"
    missing.write_text("unit,period,value\nAFG,2022,1\n", encoding="utf-8")
    assert main(["index", "--framework", str(example_dir / "framework.yaml"), "--data", str(missing),
                 "--out", str(tmp_path / "o.csv")]) == 2
    assert "indicator" in capsys.readouterr().err


def test_hdi_from_a_csv_framework_with_the_scale_option(hdi_ref, example_dir, tmp_path):
    fw = load_framework(example_dir / "framework.yaml").nodes
    cols = ["code", "parent", "name_zh", "name_en", "unit", "frequency", "source", "weight", "goalpost_low",
            "goalpost_high", "transform", "normalisation", "aggregation"]
    (tmp_path / "fw.csv").write_text(fw[cols].to_csv(index=False), encoding="utf-8")
    out = tmp_path / "hdi.csv"
    assert main(["index", "--framework", str(tmp_path / "fw.csv"), "--data", str(example_dir / "data.csv"),
                 "--out", str(out), "--scale", "0", "1"]) == 0
    res = pd.read_csv(out, dtype={"unit": str, "period": str}).query("node == 'HDI'").set_index("unit")
    ref = hdi_ref.set_index("iso3")["hdi"]
    assert (res["score"].reindex(ref.index).round(3) == ref).sum() == 193
