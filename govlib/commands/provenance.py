"""``govlib provenance``: where the current processed data came from."""
from __future__ import annotations

NAME = "provenance"
HELP = "print the data version, framework version, settings hash and govlib version of the processed data"


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the whole manifest as JSON")


def run(args) -> int:
    import json

    from ..data.processed import load_manifest, processed_dir
    from ..settings import load_settings

    settings = load_settings(args.settings)
    m = load_manifest(settings)
    if args.json:
        print(json.dumps(m, ensure_ascii=False, indent=2, sort_keys=True))
        return 0
    print(f"processed data   {processed_dir(settings)}")
    print(f"data version     {m['data_version']}")
    print(f"framework        {m.get('framework_name', {}).get('zh', '')} version {m.get('framework_version', '')}")
    print(f"settings hash    {m['settings_hash']}")
    print(f"govlib version   {m['govlib_version']}")
    print(f"built at         {m['built_at']}")
    print(f"synthetic data   {'yes' if m.get('synthetic') else 'no'}")
    print(f"inputs           {len(m['inputs'])} files")
    for path, digest in sorted(m["inputs"].items()):
        print(f"  {digest[:12]}  {path}")
    return 0
