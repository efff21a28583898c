"""`govlib index` reaches every choice of the API: COINr's ASEM pipeline from the CLI alone, recipes that replay an
API run, denominators from any column, weights files, reference units, and user errors as exit 2 (issue 16)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from govlib.cli import main
from govlib.data.framework import load_framework
from govlib.index.composite import DEFAULT_CHOICES, CompositeIndex

# COINr's published ASEM results (vignette "Presenting Results": get_results(build_example_coin(), "Aggregated")):
# the six top units and all 11 aggregates, printed to 2 decimals.
COINR_HEAD = """\
uCode Rank Index Conn Sust Physical ConEcFin Political Instit P2P Environ Social SusEcFin
CHE 1 68.38 62.79 73.98 63.41 32.87 74.78 85.94 56.93 77.21 87.85 56.88
NLD 2 64.82 61.94 67.70 64.87 46.62 84.55 71.74 41.92 58.73 86.58 57.78
DNK 3 64.80 57.10 72.51 50.52 30.43 78.13 75.35 51.04 69.83 86.40 61.29
NOR 4 64.47 57.44 71.50 58.18 25.70 80.03 89.46 33.80 70.90 87.00 56.59
BEL 5 63.54 63.99 63.09 71.97 48.22 80.84 75.60 43.32 53.01 86.17 50.09
SWE 6 63.00 53.87 72.12 51.51 23.87 80.98 74.51 38.50 66.37 87.74 62.27
"""


@pytest.fixture(scope="module")
def asem(project_root):
    return project_root / "examples" / "asem"


@pytest.fixture(scope="module")
def asem_api(asem):
    """The same pipeline through the Python API, choices from the recipe."""
    recipe = yaml.safe_load((asem / "recipe.yaml").read_text(encoding="utf-8"))
    choices = dict(recipe["choices"])
    choices["scale"] = tuple(choices["scale"])
    obs = pd.read_csv(asem / "data.csv", dtype={"unit": str, "period": str, "indicator": str})
    units = pd.read_csv(asem / "units.csv", dtype=str)
    pop = pd.read_csv(asem / "population.csv", dtype={"code": str})
    return CompositeIndex(obs, load_framework(asem / "framework.yaml"), units=units, population=pop, **choices)


@pytest.fixture(scope="module")
def asem_cli(asem, tmp_path_factory):
    out = tmp_path_factory.mktemp("asem")
    rc = main(["index", "--recipe", str(asem / "recipe.yaml"), "--out", str(out / "scores.csv"),
               "--effective-weights", str(out / "weights.csv"), "--write-recipe", str(out / "replay.yaml")])
    assert rc == 0
    return out


def test_example_data_are_coinr_asem_reference_data(asem, reference_dir):
    ref = pd.read_csv(reference_dir / "composite" / "asem_idata.csv")
    meta = pd.read_csv(reference_dir / "composite" / "asem_imeta.csv")
    obs = pd.read_csv(asem / "data.csv")
    wide = obs.pivot(index="unit", columns="indicator", values="value")
    codes = meta.loc[meta["Type"] == "Indicator", "iCode"].tolist()
    np.testing.assert_array_equal(wide.reindex(index=ref["uCode"], columns=codes).to_numpy(),
                                  ref.set_index("uCode")[codes].to_numpy())
    fw = load_framework(asem / "framework.yaml")
    den = fw.nodes.set_index("code")["denominator"]
    assert (den.reindex(codes).replace("", np.nan).fillna("NA").to_numpy()
            == meta.set_index("iCode").loc[codes, "Denominator"].fillna("NA").to_numpy()).all()


def test_asem_cli_reproduces_coinr_published_results(asem_cli):
    ref = pd.read_csv(pd.io.common.StringIO(COINR_HEAD), sep=" ")
    got = pd.read_csv(asem_cli / "scores.csv", dtype={"unit": str})
    wide = got.pivot(index="unit", columns="node", values="score")
    nodes = list(ref.columns[2:])
    np.testing.assert_allclose(wide.loc[ref["uCode"], nodes].to_numpy().round(2), ref[nodes].to_numpy(), atol=1e-9)
    ranks = got[got["node"] == "Index"].set_index("unit")["rank"]
    assert ranks.loc[ref["uCode"]].tolist() == ref["Rank"].tolist()


def test_asem_cli_equals_the_api(asem_cli, asem_api):
    got = pd.read_csv(asem_cli / "scores.csv", dtype={"unit": str, "period": str})
    api = asem_api.scores[["unit", "period", "node", "score", "rank"]]
    m = api.merge(got, on=["unit", "period", "node"], suffixes=("_api", "_cli"), validate="1:1")
    assert len(m) == len(api) == len(got)
    np.testing.assert_allclose(m["score_cli"], m["score_api"], rtol=1e-9, atol=1e-9)
    assert (m["rank_cli"].fillna(-1) == m["rank_api"].fillna(-1)).all()
    # The pipeline did what COINr's does: 65 group-mean imputations and winsorised points, no unit screened out.
    log = asem_api.log_table.set_index("choice")["detail"]
    assert log["imputation"] == "65 points imputed" and log["screening_threshold"] == "0 unit-periods dropped"
    assert asem_api.point_log["method"].isin(["winsorised", "log"]).sum() > 0


def test_asem_effective_weights_of_every_node(asem_cli, asem_api):
    w = pd.read_csv(asem_cli / "weights.csv").set_index("code")
    assert set(w.index) == set(asem_api.nodes["code"])
    assert w.loc["Index", "effective"] == 1.0 and w.loc["Conn", "effective"] == 0.5
    assert w.loc["Physical", "effective"] == pytest.approx(0.5 / 5)      # Conn has 5 pillars
    assert w.loc["LPI", "effective"] == pytest.approx(0.5 / 5 / 8)       # Physical has 8 indicators
    assert w.loc[w["is_leaf"], "effective"].sum() == pytest.approx(1.0)
    # every aggregate's effective weight is the sum of its children's
    kids = w[w["parent"].notna()].groupby("parent")["effective"].sum()
    np.testing.assert_allclose(kids.to_numpy(), w.loc[kids.index, "effective"].to_numpy())


def test_written_recipe_replays_the_same_run(asem_cli, tmp_path):
    replay = yaml.safe_load((asem_cli / "replay.yaml").read_text(encoding="utf-8"))
    assert set(replay["choices"]) == set(DEFAULT_CHOICES)      # every choice written out
    assert replay["choices"]["outliers"] == "winsorise" and replay["choices"]["imputation_by_group"] is True
    assert main(["index", "--recipe", str(asem_cli / "replay.yaml"), "--out", str(tmp_path / "again.csv")]) == 0
    a = pd.read_csv(asem_cli / "scores.csv")
    b = pd.read_csv(tmp_path / "again.csv")
    pd.testing.assert_frame_equal(a, b)


def _toy(tmp_path):
    rng = np.random.default_rng(7)
    units = [f"u{i}" for i in range(8)]
    obs = pd.DataFrame([(u, str(y), i, float(rng.gamma(2, 10))) for u in units for y in (2023, 2024)
                        for i in ("a", "b", "c")], columns=["unit", "period", "indicator", "value"])
    obs.loc[3, "value"] = np.nan
    fw = pd.DataFrame({"code": ["I", "D", "a", "b", "c"], "parent": ["", "I", "D", "D", "I"],
                       "direction": [1, 1, 1, -1, 1], "weight": [1, 2, 1, 1, 1],
                       "denominator": ["", "", "households", "", ""]})
    pop = pd.DataFrame([(u, y, 100 + 10 * k, "x") for k, u in enumerate(units) for y in (2023, 2024)],
                       columns=["code", "year", "households", "note"])
    units_t = pd.DataFrame({"code": units, "peer_group": ["p", "q"] * 4})
    for name, t in (("obs", obs), ("fw", fw), ("pop", pop), ("units", units_t)):
        t.to_csv(tmp_path / f"{name}.csv", index=False)
    return obs, fw, pop, units_t


def test_api_recipe_replays_from_the_cli_with_non_default_choices(tmp_path):
    obs, fw, pop, units = _toy(tmp_path)
    choices = dict(normalisation="percentile_rank", percentile="rank/n", indicator_normalisation={"c": "ratio_to_median"},
                   rank_ties="dense", imputation="median", imputation_by_group=True, pooled=False,
                   weights={"a": 3, "b": 1}, coverage_threshold=0.3)
    ci = CompositeIndex(obs, fw, units=units, population=pop, **choices)
    (tmp_path / "r.yaml").write_text(ci.to_recipe(framework="fw.csv", data="obs.csv", units="units.csv",
                                                  population="pop.csv"), encoding="utf-8")
    assert main(["index", "--recipe", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "o.csv")]) == 0
    got = pd.read_csv(tmp_path / "o.csv", dtype={"period": str})
    np.testing.assert_allclose(got["score"], ci.scores["score"], rtol=1e-9)
    np.testing.assert_array_equal(got["rank"].fillna(-1), ci.scores["rank"].fillna(-1))
    # the non-default choices mattered: the default run differs
    default = CompositeIndex(obs, fw, units=units, population=pop)
    assert not np.allclose(default.scores["score"], ci.scores["score"], equal_nan=True)


def test_flags_override_the_recipe_and_reach_each_choice(tmp_path):
    obs, fw, pop, units = _toy(tmp_path)
    (tmp_path / "w.csv").write_text("code,weight\na,1\nb,4\n", encoding="utf-8")
    args = ["index", "--framework", str(tmp_path / "fw.csv"), "--data", str(tmp_path / "obs.csv"),
            "--population", str(tmp_path / "pop.csv"), "--units", str(tmp_path / "units.csv"),
            "--weights", str(tmp_path / "w.csv"), "--normalisation", "zscore", "--ddof", "0", "--ties", "min",
            "--imputation", "mean", "--imputation-by-group", "--outliers", "winsorise", "--max-winsorised", "2",
            "--screening-threshold", "0.5", "--rank-ties", "max", "--set", "node_aggregation={I: geometric}",
            "--set", "zero_rule=epsilon", "--out", str(tmp_path / "o.csv"), "--write-recipe", str(tmp_path / "w.yaml")]
    assert main(args) == 0
    rec = yaml.safe_load((tmp_path / "w.yaml").read_text(encoding="utf-8"))["choices"]
    assert (rec["normalisation"], rec["ddof"], rec["ties"], rec["max_winsorised"], rec["rank_ties"]) == \
        ("zscore", 0, "min", 2, "max")
    assert rec["weights"] == {"a": 1.0, "b": 4.0} and rec["node_aggregation"] == {"I": "geometric"}
    ci = CompositeIndex(obs, fw, units=units, population=pop, normalisation="zscore", ddof=0, ties="min",
                        imputation="mean", imputation_by_group=True, outliers="winsorise", max_winsorised=2,
                        screening_threshold=0.5, rank_ties="max", node_aggregation={"I": "geometric"},
                        zero_rule="epsilon", weights={"a": 1, "b": 4})
    got = pd.read_csv(tmp_path / "o.csv", dtype={"period": str})
    np.testing.assert_allclose(got["score"], ci.scores["score"], rtol=1e-9)


def test_denominator_is_any_population_column(tmp_path):
    obs, fw, pop, units = _toy(tmp_path)
    ci = CompositeIndex(obs, fw, population=pop)
    den = ci.stages["denominated"]["a"]
    raw = ci.stages["raw"]["a"]
    hh = pop.set_index(["code", "year"])["households"]
    expect = raw.to_numpy() / hh.reindex(pd.MultiIndex.from_arrays(
        [raw.index.get_level_values(0), raw.index.get_level_values(1).astype(int)])).to_numpy()
    np.testing.assert_allclose(den.to_numpy(), expect)
    # and a recipe can point an indicator at another column, or switch denominating off
    assert np.allclose(CompositeIndex(obs, fw, population=pop, denominators={"a": None}).stages["denominated"]["a"],
                       raw, equal_nan=True)


def test_reference_unit_from_the_cli(tmp_path):
    _toy(tmp_path)
    assert main(["index", "--framework", str(tmp_path / "fw.csv"), "--data", str(tmp_path / "obs.csv"),
                 "--population", str(tmp_path / "pop.csv"), "--normalisation", "distance_to_reference",
                 "--reference-unit", "u2", "--out", str(tmp_path / "o.csv")]) == 0
    got = pd.read_csv(tmp_path / "o.csv")
    assert np.allclose(got.query("unit == 'u2' and node in ['a', 'b', 'c']")["score"], 100.0)


@pytest.mark.parametrize("extra, message", [
    (["--set", "dof=1"], "KEY one of"),
    (["--set", "normalisation=nosuch"], "normalisation"),
    (["--percentile", "rank/n", "--ddof", "-1"], "ddof"),
    (["--weights", "WEIGHTS"], "w.csv"),
    (["--recipe", "RECIPE"], "unknown choice"),
    (["--set", "screening_threshold=most"], "screening_threshold: expected a number"),
    (["--set", "max_carry=1.5"], "max_carry: expected a whole number"),
])
def test_user_errors_exit_2_naming_the_problem(tmp_path, capsys, extra, message):
    _toy(tmp_path)
    (tmp_path / "w.csv").write_text("code,weight\na,heavy\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text("govlib_index_recipe: 1\nchoices: {normalisaton: zscore}\n", encoding="utf-8")
    extra = [{"WEIGHTS": str(tmp_path / "w.csv"), "RECIPE": str(tmp_path / "r.yaml")}.get(x, x) for x in extra]
    rc = main(["index", "--framework", str(tmp_path / "fw.csv"), "--data", str(tmp_path / "obs.csv"),
               "--population", str(tmp_path / "pop.csv"), "--out", str(tmp_path / "o.csv")] + extra)
    err = capsys.readouterr().err
    assert rc == 2 and message in err
    assert "Traceback" not in err


def test_generic_framework_needs_only_code_parent_direction_weight(tmp_path):
    (tmp_path / "fw.yaml").write_text("nodes:\n  - {code: I, parent: null}\n  - {code: a, parent: I, direction: -1}\n"
                                      "  - {code: b, parent: I, weight: 2}\n", encoding="utf-8")
    pd.DataFrame({"unit": ["x", "y", "x", "y"], "period": "2020", "indicator": ["a", "a", "b", "b"],
                  "value": [1.0, 2.0, 3.0, 5.0]}).to_csv(tmp_path / "d.csv", index=False)
    assert main(["index", "--framework", str(tmp_path / "fw.yaml"), "--data", str(tmp_path / "d.csv"),
                 "--out", str(tmp_path / "o.csv")]) == 0
    got = pd.read_csv(tmp_path / "o.csv").query("node == 'I'").set_index("unit")["score"]
    assert got.to_dict() == pytest.approx({"x": 100 / 3, "y": 200 / 3})
