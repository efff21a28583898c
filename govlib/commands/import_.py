"""``govlib import KIND FILE --mapping MAP.yaml``: bring a district office's own files into the raw tables.

Kinds: ``survey`` (问卷星-style exports -> survey_responses), ``hotline`` (12345 ticket exports -> hotline_tickets),
``wide`` (yearbook or department sheets -> observations). The output goes into a table *folder* of the raw data
(``data/raw/survey_responses/<file>.csv``), beside other files of the same table; the import log (every match that
was not exact, every column not imported) goes to ``data/raw/import_logs/``. ``--suggest`` writes a draft mapping
instead. Nothing is overwritten without ``--force``; every file is written whole or not at all.
"""
from __future__ import annotations

NAME = "import"
HELP = "import a survey export, a 12345 ticket export or yearbook/department sheets into data/raw (see docs/import.md)"
DESCRIPTION = (
    "Turn the files a district office has into govlib's raw tables, using a mapping file that says what the "
    "columns, answers, categories and names mean. --suggest drafts the mapping from the file. Every problem is "
    "reported at once with file, sheet, row, column and value; every non-exact match is listed in the import log.")


def add_arguments(parser) -> None:
    parser.add_argument("kind", choices=("survey", "hotline", "wide"), help="what the file is")
    parser.add_argument("file", help="the source file (.xlsx, .xls or .csv in UTF-8 or GBK)")
    parser.add_argument("--mapping", required=True, help="the mapping file (YAML); with --suggest, where to write "
                                                         "the draft")
    parser.add_argument("--out", help="raw data folder to write into (default: paths.raw in govlib.yaml)")
    parser.add_argument("--suggest", action="store_true", help="write a draft mapping to --mapping and stop")
    parser.add_argument("--force", action="store_true", help="replace an earlier import of the same file")


def _registry(raw, problems):
    """The unit registry and survey items: from the raw folder when present, else the shipped registry."""
    import pandas as pd

    from ..data.schema import find_table, read_table
    from ..data.units import district_row, jiezhen_table, statistical_units_table

    units = items = None
    if raw.is_dir() and find_table(raw, "units"):
        units, found = read_table(raw, "units")
        problems.extend(found)
    if units is None and not problems:
        # no registry yet: the 36 街镇 and the statistical units (communities cannot be matched without one)
        units = pd.concat([district_row(), jiezhen_table(), statistical_units_table()], ignore_index=True)
    if raw.is_dir() and find_table(raw, "survey_items"):
        items, found = read_table(raw, "survey_items")
        problems.extend(found)
    return units, items


def run(args) -> int:
    from pathlib import Path

    from ..data.importers import TARGET_TABLE, import_file, load_mapping
    from ..data.readers import EXTENSIONS
    from ..data.store import atomic_path, atomic_write_text, write_table
    from ..errors import InputError, Problem, ValidationError
    from ..settings import load_settings

    settings = load_settings(args.settings)
    raw = Path(args.out).resolve() if args.out else settings.raw_dir
    source = Path(args.file)
    problems: list[Problem] = []
    units, items = _registry(raw, problems)
    if problems:
        raise ValidationError(problems)
    mapping_path = Path(args.mapping)
    if args.suggest:
        from ..data.importers.sheets import read_sheets
        from ..data.importers.suggest import suggest_mapping

        if mapping_path.exists() and not args.force:
            raise InputError(f"{mapping_path} exists; --suggest never overwrites a mapping (give another name, or "
                             f"--force)")
        text = suggest_mapping(args.kind, read_sheets(source), units, items)
        atomic_write_text(mapping_path, text)
        guesses = text.count("# GUESS")
        todos = text.count("# TODO")
        print(f"govlib import: draft mapping {mapping_path}: {guesses} guesses to review, {todos} values to fill in")
        return 0
    mapping = load_mapping(mapping_path, args.kind)
    table = TARGET_TABLE[args.kind]
    single = [raw / f"{table}{ext}" for ext in EXTENSIONS if (raw / f"{table}{ext}").exists()]
    if single:
        raise InputError(f"{single[0]} exists as a single file; imports go into the table folder {raw / table}/ "
                         f"beside other files of the table. Move it there first (mkdir {raw / table} && mv "
                         f"{single[0]} {raw / table}/), then import again")
    target = raw / table / f"{source.stem}.{'parquet' if table == 'hotline_tickets' else 'csv'}"
    if target.exists() and not args.force:
        raise InputError(f"{target} exists (an earlier import of {source.name}?); --force replaces it")
    result = import_file(args.kind, source, mapping, units, items)
    frame = result.tables[table]
    target.parent.mkdir(parents=True, exist_ok=True)
    write_table(frame, target)
    log_path = raw / "import_logs" / f"{args.kind}_{source.stem}.csv"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(log_path) as tmp:
        result.log.to_csv(tmp, index=False, encoding="utf-8-sig")
    fuzzy = int(result.log["how"].str.startswith(("unit name", "header")).sum()) if len(result.log) else 0
    print(f"govlib import {args.kind}: {len(frame):,} rows -> {target}")
    print(f"  import log: {log_path} ({len(result.log)} entries, {fuzzy} non-exact matches to review)")
    print("  next: govlib validate && govlib build")
    return 0
