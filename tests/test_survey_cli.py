"""`govlib survey`: replicate weights, calibration with a margins file, --subset (domain), ratio, and the
code-column error -- against R survey 4.1-1 (tests/data/survey_r_*.csv)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from govlib.cli import main

DATA = Path(__file__).parent / "data"
REP = pd.read_csv(DATA / "survey_r_replicate.csv")
LIN = pd.read_csv(DATA / "survey_r_reference.csv")


def _r(table, case, stat=None):
    rows = table[table["case"] == case]
    return rows if stat is None else rows[rows["stat"] == stat]


@pytest.fixture
def clus1(reference_dir):
    return str(reference_dir / "survey" / "apiclus1.csv")


def _run(tmp_path, *args):
    out = tmp_path / "o.csv"
    try:
        rc = main(["survey", *args, "--out", str(out)])
    except SystemExit as exc:  # argparse refuses a bad option value (e.g. --level 95) with exit status 2
        rc = exc.code
    return rc, (pd.read_csv(out) if rc == 0 else None)


def test_jk1_and_jkn_replicates(clus1, reference_dir, tmp_path):
    rc, r = _run(tmp_path, "--data", clus1, "--var", "api00", "--weight", "pw", "--psu", "dnum", "--fpc", "fpc",
                 "--replicates", "JK1", "--by", "stype")
    assert rc == 0
    ref = _r(REP, "clus1_JK1", "mean")
    ref = ref[ref["domain"] != "all"]
    assert r["se"].tolist() == pytest.approx(ref["se"].tolist(), rel=1e-9)
    rc, r = _run(tmp_path, "--data", str(reference_dir / "survey" / "apistrat.csv"), "--var", "enroll", "--weight",
                 "pw", "--strata", "stype", "--fpc", "fpc", "--replicates", "auto", "--stat", "total")
    ref = _r(REP, "strat_JKn", "total").iloc[0]
    assert rc == 0 and r["se"].iloc[0] == pytest.approx(ref["se"], rel=1e-9)


def test_supplied_fay_weights(tmp_path):
    both = pd.concat([pd.read_csv(DATA / "survey_r_pairs.csv"), pd.read_csv(DATA / "survey_r_repw_fay.csv")], axis=1)
    both.to_csv(tmp_path / "fay.csv", index=False)
    rc, r = _run(tmp_path, "--data", str(tmp_path / "fay.csv"), "--var", "api00", "--weight", "w",
                 "--repweights", "r*", "--replicates", "Fay", "--fay-rho", "0.5")
    ref = _r(REP, "pairs_Fay", "mean").iloc[0]
    assert rc == 0 and r["se"].iloc[0] == pytest.approx(ref["se"], rel=1e-9)


def test_subset_keeps_the_design(clus1, tmp_path):
    for extra, case in [([], "clus1_subset"), (["--replicates", "JK1"], "clus1_JK1_subset")]:
        rc, r = _run(tmp_path, "--data", clus1, "--var", "api00", "--weight", "pw", "--psu", "dnum", "--fpc", "fpc",
                     "--subset", "stype == E", "--subset", "enroll > 300", *extra)
        ref = _r(REP, case, "mean").iloc[0]
        assert rc == 0 and r["estimate"].iloc[0] == pytest.approx(ref["estimate"], rel=1e-10)
        assert r["se"].iloc[0] == pytest.approx(ref["se"], rel=1e-9)
    rc, r = _run(tmp_path, "--data", clus1, "--var", "api00", "--denominator", "api99", "--stat", "ratio",
                 "--weight", "pw", "--psu", "dnum", "--fpc", "fpc", "--subset", "stype=E", "--subset", "enroll>300")
    ref = _r(REP, "clus1_subset", "ratio").iloc[0]
    assert rc == 0 and r["se"].iloc[0] == pytest.approx(ref["se"], rel=1e-9)


def test_ratio_by_domain_matches_r(clus1, tmp_path):
    rc, r = _run(tmp_path, "--data", clus1, "--var", "api00", "--denominator", "api99", "--stat", "ratio",
                 "--weight", "pw", "--psu", "dnum", "--fpc", "fpc", "--by", "stype")
    ref = _r(LIN, "dclus1_by_stype_ratio")
    assert rc == 0 and r["se"].tolist() == pytest.approx(ref["se"].tolist(), rel=1e-9)


def test_poststratify_and_rake_with_a_margins_file(clus1, tmp_path):
    margins = tmp_path / "margins.csv"
    pd.DataFrame({"variable": ["stype"] * 3 + ["sch.wide"] * 2, "level": ["E", "H", "M", "No", "Yes"],
                  "count": [4421, 755, 1018, 1072, 5122]}).to_csv(margins, index=False)
    common = ["--data", clus1, "--var", "api00", "--weight", "pw", "--psu", "dnum", "--fpc", "fpc",
              "--margins", str(margins)]
    rc, r = _run(tmp_path, *common, "--poststratify", "stype")
    assert rc == 0 and r["se"].iloc[0] == pytest.approx(_r(LIN, "dclus1_poststrat_mean_api00")["se"].iloc[0], rel=1e-9)
    rc, r = _run(tmp_path, *common, "--rake", "stype,sch.wide")
    assert rc == 0 and r["se"].iloc[0] == pytest.approx(_r(LIN, "dclus1_rake_mean_api00")["se"].iloc[0], rel=1e-9)
    # replicate weights calibrated replicate by replicate (R's postStratify of a svyrep.design)
    pd.DataFrame({"variable": ["stype"] * 3, "level": ["E", "H", "M"], "count": [4421, 755, 1018]}).to_csv(
        margins, index=False)
    rc, r = _run(tmp_path, *common, "--poststratify", "stype", "--replicates", "JK1")
    assert rc == 0 and r["se"].iloc[0] == pytest.approx(_r(REP, "clus1_JK1_poststrat", "mean")["se"].iloc[0], rel=1e-9)


def test_raking_convergence_control(clus1, tmp_path, capsys):
    margins = tmp_path / "margins.csv"
    pd.DataFrame({"variable": ["stype"] * 3 + ["sch.wide"] * 2, "level": ["E", "H", "M", "No", "Yes"],
                  "count": [4421, 755, 1018, 1072, 5122]}).to_csv(margins, index=False)
    common = ["--data", clus1, "--var", "api00", "--weight", "pw", "--psu", "dnum", "--margins", str(margins),
              "--rake", "stype,sch.wide", "--rake-epsilon", "1e-12", "--rake-max-iter", "2"]
    rc, _ = _run(tmp_path, *common)
    assert rc == 0 and "not converged" in capsys.readouterr().out
    rc, _ = _run(tmp_path, *common, "--rake-strict")
    assert rc == 2 and "not converged" in capsys.readouterr().err


@pytest.mark.parametrize("var,message", [("cds", "statistical codes"), ("dnum", "cluster"), ("name", "numeric"),
                                         ("unit", "schema")])
def test_code_or_text_columns_are_an_error(clus1, tmp_path, capsys, var, message):
    data = pd.read_csv(clus1)
    data["unit"] = "310115000000"  # a 街镇 code column, read as a number by a naive reader
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    rc, _ = _run(tmp_path, "--data", str(path), "--var", var, "--weight", "pw", "--psu", "dnum")
    assert rc == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--subset", "stype ~ E"], "--subset"), (["--subset", "nope == 1"], "not found"),
    (["--subset", "stype == Z"], "no row"), (["--rake", "stype"], "--margins"),
    (["--stat", "ratio"], "denominator"), (["--replicates", "BRR"], "two PSUs"), (["--level", "95"], "level")])
def test_cli_mistakes_exit_2(clus1, tmp_path, capsys, args, message):
    rc, _ = _run(tmp_path, "--data", clus1, "--var", "api00", "--weight", "pw", "--psu", "dnum", *args)
    assert rc == 2 and message in capsys.readouterr().err
