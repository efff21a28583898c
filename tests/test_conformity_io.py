"""Conformity tables through the loader: the packaged checklist, a district's own, and bad inspection files
(every problem at once, with file, row, column and value)."""
from __future__ import annotations

from govlib.data.schema import load_raw
from test_io import one, problems_of, write_raw

HEAD = "community,inspection_date,requirement,result,value,note,rectification_deadline,date_closed\n"
GOOD = HEAD + """310115016001,2024-03-01,FA-02,met,,,,
310115016001,2024-03-01,FA-01,,72.5%,,,
310115016001,2024-03-01,SR-02,,5,,2024-05-01,2024-04-10
310115103201,2024年6月3日,FA-02,not_met,,窗口未设,2024/07/03,
"""


def test_packaged_checklist_is_used_and_results_load(tmp_path):
    ds = load_raw(write_raw(tmp_path, conformity_inspections__csv=GOOD))
    std = ds.tables["conformity_standard"]
    assert len(std) == 17 and set(std["category"]) == {"服务内容", "功能区域", "导向标识", "服务要求", "服务评价"}
    assert std.attrs["files"] == ["conformity_standard.csv (packaged)"]
    ins = ds.tables["conformity_inspections"]
    assert ins["value"].tolist()[1] == 72.5 and str(ins["inspection_date"].iloc[3].date()) == "2024-06-03"
    assert any(str(f).endswith("govlib/data/conformity_standard.csv") for f in ds.files)


def test_district_checklist_replaces_the_packaged_one(tmp_path):
    own = ("requirement,clause,category,name_zh,check,threshold,partial,weight,tier,source\n"
           "X-1,1.1,功能区域,窗口,yes_no,,,1,bottom_line,inspection\n")
    ins = HEAD + "310115016001,2024-03-01,X-1,met,,,,\n"
    ds = load_raw(write_raw(tmp_path, conformity_standard__csv=own, conformity_inspections__csv=ins))
    assert ds.tables["conformity_standard"]["requirement"].tolist() == ["X-1"]
    problems = problems_of(write_raw(tmp_path / "b", conformity_standard__csv=own, conformity_inspections__csv=GOOD))
    one(problems, file="conformity_inspections.csv", row=2, column="requirement", value="FA-02")


def test_bad_values_in_the_file_itself(tmp_path):
    bad = HEAD + """310115016001,2024-03-01,FA-02,maybe,,,,
310115016001,2024-13-45,FA-01,,70,,,
3.10115016001e+11,2024-03-01,SR-02,,5,,,
310115016001,2024-03-01,SR-04,met,lots,,,
"""
    problems = problems_of(write_raw(tmp_path, conformity_inspections__csv=bad))
    one(problems, file="conformity_inspections.csv", row=2, column="result", value="maybe")
    one(problems, file="conformity_inspections.csv", row=3, column="inspection_date")
    assert "became a number" in one(problems, row=4, column="community").expected
    one(problems, row=5, column="value", value="lots")


def test_rules_between_tables_all_reported_at_once(tmp_path):
    bad = HEAD + """310115016001,2024-03-01,XX-99,met,,,,
310115016001,2024-03-01,FA-02,not_met,,,,
310115016001,2024-03-01,FA-01,met,55,,2024-04-01,
310115016001,2024-03-01,SR-01,partly,80,,2024-02-01,2024-02-15
310115016001,2024-03-01,EV-01,met,95,,,
310115016001,2024-03-01,SG-01,,2,,,
310115016000,2024-03-01,SG-02,met,,,,
310115016001,2024-03-01,SR-03,,,,,
"""
    problems = problems_of(write_raw(tmp_path, conformity_inspections__csv=bad))
    f = "conformity_inspections.csv"
    assert "requirement code" in one(problems, file=f, row=2, column="requirement", value="XX-99").expected
    assert "deadline" in one(problems, file=f, row=3, column="rectification_deadline").expected
    assert "agrees with the value" in one(problems, file=f, row=4, column="result", value="met").expected
    assert "on or after the inspection" in one(problems, file=f, row=5, column="rectification_deadline").expected
    one(problems, file=f, row=5, column="date_closed")
    assert "computed from the meetings" in one(problems, file=f, row=6, column="requirement").expected
    assert "1 (yes) or 0 (no)" in one(problems, file=f, row=7, column="value").expected
    assert "level 'community'" in one(problems, file=f, row=8, column="community").expected
    assert "or a measured value" in one(problems, file=f, row=9, column="result").expected


def test_station_must_exist_that_year(tmp_path):
    stations = "community,year,has_station\n310115016001,2024,true\n310115103201,2024,false\n"
    problems = problems_of(write_raw(tmp_path, conformity_inspections__csv=GOOD, doorstep_stations__csv=stations))
    p = one(problems, file="conformity_inspections.csv", row=5, column="community")
    assert "station in the inspection's year" in p.expected


def test_bad_checklist_and_projects(tmp_path):
    std = ("requirement,clause,category,name_zh,check,threshold,partial,weight,tier,source\n"
           "A,1,功能区域,甲,share_at_least,,,1,basic,inspection\n"
           "B,2,服务评价,乙,count_at_least,5,7,1,basic,inspection\n"
           "C,3,服务评价,丙,yes_no,,,1,basic,meetings\n"
           "D,4,卫生,丁,yes_no,,,1,basic,inspection\n")
    problems = problems_of(write_raw(tmp_path, conformity_standard__csv=std))
    one(problems, file="conformity_standard.csv", row=5, column="category", value="卫生")
    problems = problems_of(write_raw(tmp_path / "b", conformity_standard__csv=std.replace("D,4,卫生", "D,4,服务要求")))
    assert "threshold" in one(problems, row=2, column="threshold").expected
    one(problems, row=3, column="partial")
    one(problems, row=4, column="check")
    projects = "community,project_id,completed\n310115016001,p1,2024-05-01\n"
    meetings = ("community,project_id,meeting,date\n310115016001,p1,hearing,2024-01-05\n"
                "310115103201,p1,evaluation,2024-06-01\n310115016001,p9,hearing,2024-01-05\n")
    problems = problems_of(write_raw(tmp_path / "c", doorstep_projects__csv=projects,
                                     doorstep_evaluations__csv=meetings))
    one(problems, file="doorstep_evaluations.csv", row=3, column="community")
    one(problems, file="doorstep_evaluations.csv", row=4, column="project_id", value="p9")


def test_cli_validate_exits_2_with_the_problems(tmp_path, capsys):
    from govlib.cli import main

    raw = write_raw(tmp_path / "raw", conformity_inspections__csv=HEAD + "310115016001,2024-03-01,XX-99,met,,,,\n")
    assert main(["validate", "--raw", str(raw)]) == 2
    err = capsys.readouterr()
    assert "XX-99" in err.out + err.err and "conformity_inspections.csv" in err.out + err.err
