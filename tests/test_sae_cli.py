"""`govlib sae` on the sae 'milk' data against R (tests/data/survey_r_milk_fh_methods.csv)."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govlib.cli import main

REF = pd.read_csv(Path(__file__).parent / "data" / "survey_r_milk_fh_methods.csv")


@pytest.mark.parametrize("method", ["REML", "ML", "FH"])
def test_sae_cli_matches_r(reference_dir, tmp_path, method):
    out = tmp_path / "fh.csv"
    assert main(["sae", "--data", str(reference_dir / "survey" / "milk.csv"), "--direct", "yi", "--vardir", "var",
                 "--area", "SmallArea", "--factors", "MajorArea", "--method", method, "--out", str(out)]) == 0
    got = pd.read_csv(out)
    ref = REF[REF["method"] == method]
    np.testing.assert_allclose(got["eblup"], ref["eblup"], rtol=1e-8)
    np.testing.assert_allclose(got["mse"], ref["mse"], rtol=1e-7)
    assert (got["method"] == method).all() and got["SmallArea"].tolist() == ref["SmallArea"].tolist()


def test_se_column_is_squared(reference_dir, tmp_path):
    milk = pd.read_csv(reference_dir / "survey" / "milk.csv")
    milk["se"] = np.sqrt(milk["var"])
    milk.to_csv(tmp_path / "m.csv", index=False)
    assert main(["sae", "--data", str(tmp_path / "m.csv"), "--direct", "yi", "--se", "se", "--factors", "MajorArea",
                 "--out", str(tmp_path / "o.csv")]) == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "o.csv")["eblup"], REF[REF["method"] == "REML"]["eblup"],
                               rtol=1e-8)


@pytest.mark.parametrize("args,message", [
    (["--vardir", "nope"], "not found"), (["--vardir", "var", "--method", "EB"], "invalid choice"),
    (["--vardir", "var", "--area", "MajorArea"], "repeats"), (["--vardir", "bad"], "needs a number")])
def test_sae_mistakes_exit_2(reference_dir, tmp_path, capsys, args, message):
    milk = pd.read_csv(reference_dir / "survey" / "milk.csv")
    milk["bad"] = milk["var"].astype(str)
    milk.loc[3, "bad"] = "n/a"
    milk.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(SystemExit) if "invalid choice" in message else nullcontext():
        rc = main(["sae", "--data", str(tmp_path / "m.csv"), "--direct", "yi", *args, "--out", str(tmp_path / "o.csv")])
        assert rc == 2
    assert message in capsys.readouterr().err

