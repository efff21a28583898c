"""`govlib trend`: alpha validation, Hamed-Rao, the continuity switch, and the homogeneity tests from the CLI."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pymannkendall as pmk
import pytest

from govlib.cli import main

R_HOM = pd.read_csv(Path(__file__).parent / "data" / "trend_homogeneity_r.csv", skipinitialspace=True)


@pytest.mark.parametrize("flag,value", [("--alpha", "2"), ("--alpha", "0"), ("--alpha", "-0.05"),
                                        ("--alpha", "1"), ("--conf-level", "95")])
def test_levels_outside_0_1_exit_2(reference_dir, tmp_path, capsys, flag, value):
    out = tmp_path / "t.csv"
    with pytest.raises(SystemExit) as exc:  # argparse refuses the value before any work, exit status 2
        main(["trend", "--data", str(reference_dir / "trend" / "nile.csv"), "--time", "year", "--value", "flow",
              flag, value, "--out", str(out)])
    assert exc.value.code == 2 and "between 0 and 1" in capsys.readouterr().err and not out.exists()


def test_hamed_rao_from_the_cli_matches_pymannkendall(reference_dir, tmp_path):
    nile = pd.read_csv(reference_dir / "trend" / "nile.csv")
    out = tmp_path / "t.csv"
    assert main(["trend", "--data", str(reference_dir / "trend" / "nile.csv"), "--time", "year", "--value", "flow",
                 "--variance", "hamed_rao", "--out", str(out)]) == 0
    got = pd.read_csv(out).iloc[0]
    ref = pmk.hamed_rao_modification_test(nile["flow"].to_numpy())
    assert got["var_s"] == pytest.approx(ref.var_s, rel=1e-9)
    assert got["z"] == pytest.approx(ref.z, rel=1e-9) and got["p"] == pytest.approx(ref.p, rel=1e-9)
    assert got["hr_factor"] > 1


def test_correlated_seasonal_without_continuity_matches_pymannkendall(reference_dir, tmp_path):
    nott = pd.read_csv(reference_dir / "trend" / "nottem.csv")
    out = tmp_path / "t.csv"
    args = ["trend", "--data", str(reference_dir / "trend" / "nottem.csv"), "--time", "year", "--value", "temp_f",
            "--season", "month", "--seasonal-covariance", "hirsch_slack_1984", "--out", str(out)]
    ref = pmk.correlated_seasonal_test(nott["temp_f"].to_numpy(), period=12)
    assert main(args + ["--no-continuity"]) == 0
    got = pd.read_csv(out).iloc[0]
    assert got["z"] == pytest.approx(ref.z, rel=1e-9) and got["p"] == pytest.approx(ref.p, rel=1e-9)
    assert main(args) == 0
    assert abs(pd.read_csv(out)["z"].iloc[0]) < abs(ref.z)  # the continuity correction shrinks |z|


def test_homogeneity_from_the_cli_reproduces_r_trend(reference_dir, tmp_path):
    out = tmp_path / "h.csv"
    pages = reference_dir / "trend" / "pettitt1979_pages.csv"
    rows = []
    for test, code in [("buishand_range", "br"), ("buishand_u", "bu"), ("snht", "snh")]:
        assert main(["trend", "--data", str(pages), "--time", "t", "--value", "x", "--homogeneity", test,
                     "--rng", "R", "--seed", "42", "--n-sim", "2000", "--out", str(out)]) == 0
        got = pd.read_csv(out).iloc[0]
        ref = R_HOM[(R_HOM["series"] == "pages") & (R_HOM["test"] == code) & (R_HOM["seed"] == 42)].iloc[0]
        assert got["statistic"] == pytest.approx(ref["statistic"], abs=1e-8)
        assert got["p"] == pytest.approx(ref["p"], abs=1e-12) and got["position"] == ref["K"]
        rows.append(got)
    assert rows[0]["change_point"] == 17  # the shift Pettitt (1979) found after observation 17


def test_homogeneity_mistakes_exit_2(reference_dir, tmp_path, capsys):
    nile = str(reference_dir / "trend" / "nile.csv")
    base = ["trend", "--data", nile, "--time", "year", "--value", "flow", "--out", str(tmp_path / "h.csv")]
    assert main(base + ["--homogeneity", "snht", "--rng", "R"]) == 2
    assert "--seed" in capsys.readouterr().err
    assert main(base + ["--homogeneity", "snht", "--n-sim", "-5"]) == 2
