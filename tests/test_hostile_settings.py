"""Hostile and careless settings and command lines (issue 14): every case is a clear message and exit status 2 (or
a quiet, correct run), never a traceback. Each case runs in its own project root (``tmp_path`` + ``GOVLIB_ROOT``)
through ``govlib.cli.main``, as a new user would."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

from govlib import cli
from govlib.errors import ValidationError
from govlib.settings import SCHEMA, Key, load_settings, read_section
from conftest import count

GOOD_YAML = (Path(__file__).resolve().parents[1] / "govlib.yaml").read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project root of its own (no data: settings are checked before any data is read)."""
    monkeypatch.setenv("GOVLIB_ROOT", str(tmp_path))
    return tmp_path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    count("adversarial inputs tried")
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# ------------------------------------------------------------------------------------------ govlib.yaml values
# (settings text, what the message must say). Each is run through both `validate` and `build`.
BAD_SETTINGS = [
    ("reports: {workers: two}", "line 1, key reports.workers: value 'two': expected a whole number >= 1"),
    ("reports: {workers: 0}", "key reports.workers: value 0: expected a whole number >= 1"),
    ("reports: {workers: true}", "key reports.workers: value True: expected a whole number"),
    ("reports: {workers: 1.5}", "key reports.workers: value 1.5: expected a whole number"),
    ("reports: {timeout_seconds: abc}", "key reports.timeout_seconds: value 'abc': expected a number > 0"),
    ("reports: {timeout_seconds: .inf}", "key reports.timeout_seconds: value inf: expected a number > 0"),
    ("reports: {lang: fr}", "key reports.lang: value 'fr': expected one of zh, en"),
    ('index: {coverage_threshold: "half"}', "key index.coverage_threshold: value 'half': expected a number in [0, 1]"),
    ("index: {coverage_threshold: 1.5}", "key index.coverage_threshold: value 1.5: expected a number in [0, 1]"),
    ("framework: 5", "key framework: value 5: expected a path as text"),
    ("paths: {raw: 123}", 'key paths.raw: value 123: expected a path as text (quote a name made of digits: "2024")'),
    ("paths:\n  processed: null", "line 2, key paths.processed: expected a path as text"),
    ("paths:\n  processed:", "the key is empty; leave it out for the default 'data/processed'"),
    ("paths: data", "key paths: value 'data': expected a mapping of keys"),
    ("index: {normalisation: foo}", "key index.normalisation: value 'foo': expected one of minmax, zscore"),
    ("index: {aggregation: median}", "key index.aggregation: value 'median': expected one of arithmetic"),
    ("index: {node_aggregation: {SGI: foo}}", "key index.node_aggregation"),
    ("index: {uncertainty: {normalisations: [minmax, foo]}}", "key index.uncertainty.normalisations"),
    ("index: {uncertainty: {replications: -5}}", "key index.uncertainty.replications: value -5"),
    ("index: {scale: [100, 0]}", "key index.scale: value [100, 0]: expected [low, high] with low < high"),
    ("index: {pooled: 'no'}", "key index.pooled: value 'no': expected true or false"),
    ("index: {normalization: zscore}", "key index.normalization: unknown key; did you mean normalisation?"),
    ("index: {audit: {methd: spearman}}", "key index.audit.methd: unknown key; did you mean method?"),
    ("survey: {lonely_psu: bogus}", "key survey.lonely_psu: value 'bogus': expected one of fail, remove"),
    ("survey: {confidence_level: 95}", "key survey.confidence_level: value 95: expected a number in (0, 1)"),
    ("survey: {measures: score}", "key survey.measures: value 'score': expected a list of score, top2, net"),
    ("trend: {fdr: 5}", "key trend.fdr: value 5: expected a number in (0, 1)"),
    ("trend: {alpha: 0}", "key trend.alpha: value 0: expected a number in (0, 1)"),
    ("trend: {changepoint_penalty: aic}", "key trend.changepoint_penalty: value 'aic': expected bic or a number"),
    ("trend: {target_period: 2030Q5}", "key trend.target_period: value '2030Q5': expected a period"),
    ("hotline: {as_of: yesterday}", "key hotline.as_of: value 'yesterday': expected a date such as 2026-01-01"),
    ("hotline: {satisfied_min: 6}", "key hotline.satisfied_min: value 6: expected a whole number in [1, 5]"),
    ("doorstep: {coverage_frequency: W}", "key doorstep.coverage_frequency: value 'W': expected one of A, Q, M"),
    ("periods: {index_frequency: yearly}", "key periods.index_frequency: value 'yearly': expected one of A, Q, M"),
    ("periods: {base_period: 18}", "key periods.base_period: value 18: expected a period"),
    ("alerts: {rules: []}", "key alerts.rules: value []: expected a list of mappings"),
    ("alerts:\n  rules:\n  - {name: x, kind: nope, level: red}", "alerts.rules[0] (x): unknown kind 'nope'"),
    ("alerts:\n  rules:\n  - {name: x, kind: drop, level: red, threshold: big}", "threshold must be a number"),
    ("hotline:\n  as_of: 2026-13-45", "line 2: a value cannot be read (month must be in 1..12)"),
    ('hotline: {as_of: "2026-02-30"}', "key hotline.as_of: value '2026-02-30': expected a date"),
    ("index: {coverage_threshold: 50%}", "key index.coverage_threshold: value '50%': expected a number in [0, 1]"),
    ("reports: {lang: ZH}", "key reports.lang: value 'ZH': expected one of zh, en"),
    ("reports:\n  lang: zh\x07", "line 2: not valid YAML (the control character U+0007 is not allowed)"),
    ("pahts: {raw: data/raw}", "key pahts: unknown section; did you mean paths?"),
    ("reports:\n  lang: zh\nreports:\n  workers: 3",
     "line 3: key 'reports' appears twice (first on line 1); YAML would silently keep only the second"),
    ("reports: {workers: 2, workers: 3}", "key 'workers' appears twice"),
    ("- paths\n- reports", "expected a mapping of sections at the top level"),
    ("paths:\n  raw: [unclosed\n", "not valid YAML"),
    ("paths:\n\traw: data/raw\n", "not valid YAML"),
    ("project: !!python/object/apply:os.system ['echo pwned']", "not valid YAML"),
]


@pytest.mark.parametrize("command", ["validate", "build"])
@pytest.mark.parametrize("text, message", BAD_SETTINGS, ids=[t for t, _ in BAD_SETTINGS])
def test_bad_settings_are_a_clear_message_and_exit_2(project, capsys, command, text, message):
    (project / "govlib.yaml").write_text(text + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, command, *(["--quiet"] if command == "build" else []))
    assert code == 2
    assert err.startswith(f"govlib {command}: error: ")
    assert message in err and "govlib.yaml" in err
    assert not (project / "data" / "processed" / "builds").exists()  # nothing was written


def test_every_problem_is_reported_at_once(project, capsys):
    (project / "govlib.yaml").write_text("reports: {workers: two, timeout_seconds: abc}\nindex: {ddof: 2}\n"
                                         "framework: 5\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "validate")
    assert code == 2 and err.count("\n  - ") == 4
    for key in ("reports.workers", "reports.timeout_seconds", "index.ddof", "framework"):
        assert f"key {key}:" in err


def test_settings_are_checked_before_any_data_is_read(project, capsys):
    # no data/raw at all: the settings mistake is what the user hears about first
    (project / "govlib.yaml").write_text("index: {normalisation: foo}\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "validate")
    assert code == 2 and "index.normalisation" in err and "raw data folder" not in err


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16"])
def test_settings_saved_in_a_legacy_encoding(project, capsys, encoding):
    (project / "govlib.yaml").write_text("project:\n  name_zh: 浦东新区社会治理指数\n", encoding=encoding)
    code, _, err = run_cli(capsys, "validate")
    assert code == 2
    assert "govlib.yaml, line " in err and "not UTF-8 text" in err and "save it as UTF-8" in err


def test_settings_with_a_byte_order_mark_are_fine(project):
    count("adversarial inputs tried")
    (project / "govlib.yaml").write_text("\ufeffreports: {lang: en}\n", encoding="utf-8")
    assert load_settings().section("reports")["lang"] == "en"


def test_empty_sections_and_empty_file_mean_defaults(project):
    count("adversarial inputs tried", 2)
    (project / "govlib.yaml").write_text("index:\nsurvey:\n# all commented out\n", encoding="utf-8")
    s = load_settings()
    assert read_section(s, "index")["normalisation"] == "minmax"
    (project / "govlib.yaml").write_text("", encoding="utf-8")
    assert load_settings().section("reports")["workers"] == 2


def test_unquoted_periods_are_accepted(project):
    count("adversarial inputs tried")
    (project / "govlib.yaml").write_text("periods: {base_period: 2020}\nindex: {base_period: 2020}\n"
                                         "trend: {target_period: 2035}\n", encoding="utf-8")
    from govlib.pipeline.stages import index, trend

    s = load_settings()
    assert index.read_settings(s)["base_period"] == "2020"
    assert trend.read_settings(s)[0]["target_period"] == "2035"


@pytest.mark.parametrize("argv, message", [
    (["--settings", "missing.yaml"], "missing.yaml: settings file not found"),
    (["--settings", "."], "is a folder; expected a YAML file"),
])
def test_settings_option_pointing_nowhere(project, capsys, argv, message):
    code, _, err = run_cli(capsys, *argv, "validate")
    assert code == 2 and message in err


def test_govlib_yaml_that_is_a_folder(project, capsys):
    (project / "govlib.yaml").mkdir()
    code, _, err = run_cli(capsys, "validate")
    assert code == 2 and "is a folder; expected a YAML file" in err


# ------------------------------------------------------------------------------- hypothesis: any value, any key
def _key_paths(node, prefix=""):
    if isinstance(node, Key):
        return [(prefix, node)]
    return [kp for k, v in node.items() for kp in _key_paths(v, f"{prefix}.{k}" if prefix else k)]


KEYS = _key_paths(SCHEMA)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["A", "zh", "minmax", "2024", "2024Q3", "bic", "rake"]))
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=2))


def _nest(path: str, value):
    out = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


@hyp_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=values)
def test_any_value_for_any_key_is_accepted_as_declared_or_named(tmp_path, key, value):
    """A value is accepted exactly when its key's declaration allows it; otherwise the one error names the key."""
    count("adversarial inputs tried")
    path, decl = key
    (tmp_path / "govlib.yaml").write_text(yaml.safe_dump(_nest(path, value), allow_unicode=True), encoding="utf-8")
    try:
        s = load_settings(root=tmp_path)
    except ValidationError as exc:
        assert decl.problem(value) is not None
        assert [p.column for p in exc.problems] == [path]
        return
    assert decl.problem(value) is None
    section = path.split(".")[0]
    if isinstance(SCHEMA[section], dict):
        read_section(s, section)  # what a stage reads is checked the same way


YAML_BITS = st.sampled_from(["reports:", "index:", "  ", "\n", ": ", "- ", "&a ", "*a", "<<: ", "[", "]", "{", "}",
                              ",", "'", '"', "#", "!!", "2026-13-45", "1e400", ".nan", "null", "workers", "\t", "\ufeff",
                              "中文", "|", ">", "%YAML 1.1\n", "---\n", "...\n", "? ", "\\x"])


@hyp_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=60), st.lists(YAML_BITS, max_size=25).map("".join)))
def test_any_text_as_govlib_yaml_is_settings_or_a_validation_error(tmp_path, text):
    """Whatever the file holds, loading it gives settings or the one error type: never another exception."""
    count("adversarial inputs tried")
    (tmp_path / "govlib.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(root=tmp_path)
    except ValidationError as exc:
        assert all(p.file == "govlib.yaml" for p in exc.problems)


def test_every_default_satisfies_its_own_declaration():
    for path, decl in KEYS:
        assert decl.problem(decl.default) is None, path


# ------------------------------------------------------------------------------------------------- framework
def _framework_yaml(extra: str = "") -> str:
    return (f"name: Test index\n{extra}nodes:\n"
            "  - {code: I, parent: null}\n"
            "  - {code: a, parent: I, frequency: A, source: admin}\n"
            "  - {code: b, parent: I, frequency: A, source: admin}\n")


DATA = "unit,period,indicator,value\nu1,2024,a,1\nu2,2024,a,2\nu1,2024,b,3\nu2,2024,b,1\n"

BAD_FRAMEWORKS = [
    ("scale: [low, high]\n", "utf-8", "column 'scale': value ['low', 'high']: expected [low, high]: two numbers"),
    ("scale: [100, 0]\n", "utf-8", "expected [low, high]: two numbers with low < high"),
    ("scale: 100\n", "utf-8", "column 'scale': value 100: expected [low, high]"),
    ("scael: [0, 1]\n", "utf-8", "line 2, key scael: unknown top-level key; expected one of name"),
    ("name: Again\n", "utf-8", "line 2: key 'name' appears twice (first on line 1)"),
    ("name_zh: 测试指数\n", "gbk", "not UTF-8 text (saved as GBK/GB2312"),
]


@pytest.mark.parametrize("extra, encoding, message", BAD_FRAMEWORKS, ids=[e.strip() for e, _, _ in BAD_FRAMEWORKS])
def test_bad_framework_files(project, capsys, extra, encoding, message):
    (project / "framework.yaml").write_text(_framework_yaml(extra), encoding=encoding)
    (project / "data.csv").write_text(DATA, encoding="utf-8")
    code, _, err = run_cli(capsys, "index", "--framework", str(project / "framework.yaml"), "--data",
                           str(project / "data.csv"), "--out", str(project / "out.csv"))
    assert code == 2 and "framework.yaml" in err and message in err
    assert not (project / "out.csv").exists()


def test_the_good_framework_still_works(project, capsys):
    (project / "framework.yaml").write_text(_framework_yaml("scale: [0, 1]\nversion: '1'\n"), encoding="utf-8")
    (project / "data.csv").write_text(DATA, encoding="utf-8")
    code, out, _ = run_cli(capsys, "index", "--framework", str(project / "framework.yaml"), "--data",
                           str(project / "data.csv"), "--out", str(project / "out.csv"))
    assert code == 0 and (project / "out.csv").exists()


# ------------------------------------------------------------------------------------------ files and folders
def _index_args(project: Path, out: str) -> list[str]:
    (project / "framework.yaml").write_text(_framework_yaml(), encoding="utf-8")
    (project / "data.csv").write_text(DATA, encoding="utf-8")
    return ["index", "--framework", str(project / "framework.yaml"), "--data", str(project / "data.csv"),
            "--out", out]


def test_index_out_is_an_existing_folder(project, capsys):
    folder = project / "results"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me", encoding="utf-8")
    code, _, err = run_cli(capsys, *_index_args(project, str(folder)))
    assert code == 2 and f"--out: {folder} is a folder; name a CSV file" in err
    assert sorted(p.name for p in project.iterdir()) == ["data.csv", "framework.yaml", "results"]  # no .tmp
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]


def test_index_out_is_an_input_file(project, capsys):
    code, _, err = run_cli(capsys, *_index_args(project, str(project / "data.csv")))
    assert code == 2 and "is one of the input files; govlib never overwrites its inputs" in err
    assert (project / "data.csv").read_text(encoding="utf-8") == DATA


def test_index_out_in_a_missing_folder_or_under_a_file(project, capsys):
    code, _, err = run_cli(capsys, *_index_args(project, str(project / "nope" / "out.csv")))
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(capsys, *_index_args(project, str(project / "data.csv" / "out.csv")))
    assert code == 2 and "is a file, not a folder" in err


def test_disk_full_while_writing_leaves_no_temporary(project, capsys, monkeypatch):
    import pandas as pd

    def full(self, path, *a, **k):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    code, _, err = run_cli(capsys, *_index_args(project, str(project / "out.csv")))
    assert code == 2 and "no space left on the disk" in err and "free some space" in err
    assert sorted(p.name for p in project.iterdir()) == ["data.csv", "framework.yaml"]


def _deny_lock(monkeypatch, folder: Path):
    """Simulate a read-only folder (root ignores permission bits): creating govlib's lock file there fails."""
    import filelock

    real = filelock.UnixFileLock._acquire

    def acquire(self):
        if Path(self.lock_file).parent == folder:
            raise PermissionError(13, "Permission denied", self.lock_file)
        return real(self)

    monkeypatch.setattr(filelock.UnixFileLock, "_acquire", acquire)


def test_read_only_processed_folder(project, capsys, monkeypatch):
    processed = project / "data" / "processed"
    processed.mkdir(parents=True)
    _deny_lock(monkeypatch, processed)
    code, _, err = run_cli(capsys, "build", "--quiet")
    # the build names the store, the reason and the file; the previous build stays current
    assert code == 2 and "permission denied" in err and str(processed / ".build.lock") in err
    assert "previous build, if any, is still current" in err


def test_read_only_outputs_folder(project, capsys, monkeypatch):
    outputs = project / "outputs"
    outputs.mkdir()
    _deny_lock(monkeypatch, outputs)
    code, _, err = run_cli(capsys, "report", "district")
    assert code == 2 and f"permission denied: {outputs / '.reports.lock'}" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permission bits")
def test_really_read_only_processed_folder(project, capsys):
    processed = project / "data" / "processed"
    processed.mkdir(parents=True)
    processed.chmod(0o555)
    try:
        code, _, err = run_cli(capsys, "build", "--quiet")
    finally:
        processed.chmod(0o755)
    assert code == 2 and "permission denied" in err


def test_a_file_where_a_folder_belongs(project, capsys):
    (project / "govlib.yaml").write_text("paths: {processed: govlib.yaml}\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "build", "--quiet")
    assert code == 2 and "a file is where govlib needs a folder" in err
    assert (project / "govlib.yaml").read_text(encoding="utf-8") == "paths: {processed: govlib.yaml}\n"


def test_build_only_an_unknown_stage(project, capsys):
    code, _, err = run_cli(capsys, "build", "--only", "index,trnd")
    assert code == 2 and "--only: 'trnd' is not allowed; expected one of survey, hotline" in err


def test_os_errors_that_are_bugs_keep_their_traceback():
    count("adversarial inputs tried")
    assert cli.os_error_message(OSError(5, "Input/output error", "x")) is None
    assert cli.os_error_message(NotADirectoryError(20, "Not a directory", "a/b")).startswith("a/b: part of")


# ------------------------------------------------------------------------------------------------ broken pipe
class _ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_pipe_in_process_is_quiet(project, capsys, monkeypatch):
    count("adversarial inputs tried")
    (project / "govlib.yaml").write_text(GOOD_YAML, encoding="utf-8")
    args = _index_args(project, str(project / "out.csv"))
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert cli.main(args) == 0  # the work is done; only the cut output is dropped
    monkeypatch.undo()
    assert (project / "out.csv").exists()
    assert "Traceback" not in capsys.readouterr().err


def test_validate_piped_into_head_exits_quietly(project):
    count("adversarial inputs tried")
    args = _index_args(project, str(project / "out.csv"))
    env = {**os.environ, "GOVLIB_ROOT": str(project), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "govlib.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # `| head -0`: the reader is gone before anything is printed
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err == ""


# ------------------------------------------------------------------------------------------------ evaluate
def test_evaluate_without_ground_truth_names_the_missing_file(project, capsys):
    processed = project / "proc"
    processed.mkdir()
    (processed / "trends.csv").write_text("unit,node,source,frequency,p,q,status\n", encoding="utf-8")
    (processed / "alerts.csv").write_text("unit,period,node,level,rules\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "evaluate", "--processed", str(processed))
    assert code == 2 and "ground_truth not found at" in err and "data/raw/ground_truth" in err
    assert "only a synthetic demo data set" in err and "run `govlib build` first" not in err


def test_evaluate_without_a_build_says_build_first(project, capsys):
    code, _, err = run_cli(capsys, "evaluate", "--processed", str(project))
    assert code == 2 and "trends not found" in err and "run `govlib build` first" in err


# ------------------------------------------------------------------------------------ what a careful user tries
def test_nested_aliases_cannot_blow_up_memory(project, capsys):
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "alerts:\n  rules:\n  - {name: x, kind: drop, level: red, threshold: *a8}\n"
    (project / "govlib.yaml").write_text("project:\n" + "".join(f"  {r}\n" for r in rows) + text, encoding="utf-8")
    code, _, err = run_cli(capsys, "validate")
    assert code == 2 and "the aliases (*name) expand to 2,345,679,034 values, more than 1,000,000" in err


def test_anchors_and_merge_keys_still_work(project):
    count("adversarial inputs tried")
    (project / "govlib.yaml").write_text("survey: &s {min_n: 50}\nhotline: {min_denominator: 50}\n"
                                         "trend:\n  <<: {fdr: 0.1}\n  fdr: 0.01\n", encoding="utf-8")
    s = load_settings()
    assert read_section(s, "survey")["min_n"] == 50 and read_section(s, "trend")["fdr"] == 0.01


def test_home_folder_in_paths_is_expanded(project, monkeypatch):
    count("adversarial inputs tried")
    monkeypatch.setenv("HOME", str(project / "home"))
    (project / "govlib.yaml").write_text("paths: {raw: ~/sgi/raw}\nframework: ~/sgi/fw.yaml\n", encoding="utf-8")
    s = load_settings()
    assert s.raw_dir == (project / "home" / "sgi" / "raw").resolve()
    assert s.framework_path == (project / "home" / "sgi" / "fw.yaml").resolve()


@pytest.mark.parametrize("text, message", [
    ("index: {weights: {D1: heavy}}", "key index.weights: value {'D1': 'heavy'}: expected a mapping code: weight"),
    ("survey: {composite_weights: {q1: -1}}", "key survey.composite_weights"),
    ("index: {exclude: D1.1}", "key index.exclude: value 'D1.1': expected a list of texts"),
])
def test_weights_and_lists_are_checked(project, capsys, text, message):
    (project / "govlib.yaml").write_text(text + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "validate")
    assert code == 2 and message in err


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    """The small synthetic data set, made once as a new user would (``govlib demo-data``); each test copies it."""
    root = tmp_path_factory.mktemp("demo-template")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVLIB_ROOT", str(root))
        assert cli.main(["demo-data", "--size", "small"]) == 0
    return root


@pytest.fixture
def demo_project(project, demo_template, capsys):
    """A project of its own with the small synthetic data set (a copy of ``demo_template``)."""
    shutil.copytree(demo_template, project, dirs_exist_ok=True)
    capsys.readouterr()
    return project


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("scale: [0, 100]", "scale: [low, high]"), "expected [low, high]: two numbers"),
    (lambda t: "scael: [0, 100]\n" + t, "key scael: unknown top-level key"),
    (lambda t: t + "version: again\n", "key 'version' appears twice"),
])
@pytest.mark.parametrize("command", ["validate", "build"])
def test_validate_and_build_report_framework_file_problems(demo_project, capsys, change, message, command):
    fw = demo_project / "data" / "raw" / "framework.yaml"
    fw.write_text(change(fw.read_text(encoding="utf-8")), encoding="utf-8")
    code, _, err = run_cli(capsys, command, *(["--quiet"] if command == "build" else []))
    assert code == 2 and "framework.yaml" in err and message in err


def test_validate_reports_a_framework_saved_in_gbk(demo_project, capsys):
    fw = demo_project / "data" / "raw" / "framework.yaml"
    fw.write_bytes(fw.read_text(encoding="utf-8").encode("gbk"))
    code, _, err = run_cli(capsys, "validate")
    assert code == 2 and "framework.yaml, line " in err and "not UTF-8 text" in err


def test_framework_setting_that_names_a_folder(demo_project, capsys):
    (demo_project / "govlib.yaml").write_text("framework: data/raw\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "validate")
    assert code == 2 and "data/raw: is a folder; expected the framework file" in err


def test_validate_says_it_checked_the_settings(demo_project, capsys):
    (demo_project / "govlib.yaml").write_text(GOOD_YAML, encoding="utf-8")
    code, out, _ = run_cli(capsys, "validate")
    assert code == 0 and "govlib.yaml: OK (every key, and every stage's choices)" in out


@pytest.mark.parametrize("argv, message", [
    (["trend", "--data", "t.csv", "--time", "year", "--value", "v", "--out", "o.csv", "--alpha", "2"],
     "argument --alpha: expected a number between 0 and 1 (e.g. 0.05), got '2'"),
    (["trend", "--data", "t.csv", "--time", "year", "--value", "v", "--out", "o.csv", "--conf-level", "95"],
     "argument --conf-level: expected a number between 0 and 1"),
    (["survey", "--data", "s.csv", "--var", "y", "--level", "1.5"], "argument --level: expected a number between 0"),
    (["build", "--lock-timeout", "-1"], "argument --lock-timeout: expected a number >= 0, got '-1'"),
    (["evaluate", "--min-sd", "nan"], "argument --min-sd: expected a finite number, got 'nan'"),
])
def test_numbers_out_of_range_on_the_command_line(project, capsys, argv, message):
    count("adversarial inputs tried")
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err
