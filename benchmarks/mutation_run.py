"""`make mutate`: mutmut over the modules of [tool.mutmut] only_mutate, then the score of each.

1. mutmut writes the mutants (mutants/: a copy of the source, every mutant behind a trampoline);
2. a mutant recorded as equivalent in benchmarks/mutation_equivalent.txt is not run again while its
   change is still the one recorded there (its line before and after); every other mutant is run;
3. per module: killed / (all - equivalent), the raw killed / all, and what was not killed.

Equivalent mutants survive every test by definition, and a survivor runs every test that covers
its function: leaving them out is what keeps the run within minutes. The file says why each is
equivalent; benchmarks/mutation.md sums it up.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import json
import os
import re
import sys
import time
import tomllib
from pathlib import Path

EQUIVALENT = Path(__file__).with_name("mutation_equivalent.txt")
KILLED = {1, 3, 36, 24, -24, 152, 255}  # tests failed, pytest internal error, timeouts (SIGXCPU)


def modules() -> list[str]:
    return tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]["only_mutate"]


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def changes(path: str) -> dict[str, str]:
    """Each mutant of a module (mutmut's name) → its change: the lines it removes and adds."""
    text = (Path("mutants") / path).read_text(encoding="utf-8")
    lines = text.splitlines()  # once: ast.get_source_segment splits the whole file on every call
    functions = {node.name: "\n".join(lines[node.lineno - 1:node.end_lineno])
                 for node in ast.walk(ast.parse(text))
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name}
    out = {}
    for name, source in functions.items():
        base, _, number = name.rpartition("__mutmut_")
        if number == "orig":
            continue
        before, after = functions[f"{base}__mutmut_orig"].splitlines()[1:], source.splitlines()[1:]
        diff = [line[0] + " ".join(line[1:].split()) for line in difflib.unified_diff(before, after, lineterm="", n=0)
                if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        out[f"{module_name(path)}.{name}"] = " | ".join(diff)
    return out


# SQL keywords as this code base writes them: upper case, inside a string literal with other words
_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|FROM|WHERE|CHECKPOINT|ORDER BY|VALUES|NULL|AND|"
                  r"JOIN|GROUP BY|LIMIT|EXCLUDE)\b")
_STRING = re.compile(r"""[rRbBfF]{0,2}("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_QUOTED = re.compile(r"'[^']*'")


def _is_sql_case_change(before: str, after: str) -> bool:
    return (before.lower() == after.lower() and " " in before.strip("\"'") and _SQL.search(before) is not None
            and _QUOTED.findall(before[1:-1]) == _QUOTED.findall(after[1:-1]))


def sql_case_only(change: str) -> bool:
    """A mutant that only changes the case of SQL text inside string literals: SQL keywords and
    identifiers are case-insensitive in DuckDB, so it is equivalent — as long as the code around
    the literals is untouched, the literal is SQL (upper-case keywords among other words), and no
    quoted SQL literal inside it ('loaded', 'meta') changed."""
    parts = change.split(" | ")
    if len(parts) != 2 or not parts[0].startswith("-") or not parts[1].startswith("+"):
        return False
    before, after = parts[0][1:], parts[1][1:]
    if before == after or _STRING.sub("S", before) != _STRING.sub("S", after):
        return False  # the code outside string literals changed
    pairs = list(zip(_STRING.findall(before), _STRING.findall(after), strict=True))
    changed = [(a, b) for a, b in pairs if a != b]
    return bool(changed) and all(_is_sql_case_change(a, b) for a, b in changed)


def recorded_equivalents() -> dict[str, tuple[str, str]]:
    """name → (reason, change) from the equivalents file: `name<TAB>reason<TAB>change` per line."""
    out = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, reason, change = line.split("\t")
            out[name] = (reason, change)
    return out


def generate() -> None:
    from mutmut.__main__ import create_mutants
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths

    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()
    create_mutants(os.cpu_count() or 2)


def _previous_codes() -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for path in modules():
        meta = Path("mutants") / f"{path}.meta"
        if meta.exists():
            codes.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return codes


def report(equivalent: set[str], minimum: float) -> int:
    failing = []
    print(f"\n{'module':<30} {'killed':>6} {'equiv.':>6} {'all':>5} {'score':>7} {'raw':>7}")
    for path in modules():
        codes = json.loads((Path("mutants") / f"{path}.meta").read_text(encoding="utf-8"))["exit_code_by_key"]
        eq = {k for k in codes if k in equivalent}
        killed = sum(1 for k, code in codes.items() if code in KILLED and k not in eq)
        scored = len(codes) - len(eq)
        score = 100.0 * killed / scored if scored else 100.0
        print(f"{path:<30} {killed:>6} {len(eq):>6} {len(codes):>5} {score:>6.1f}% "
              f"{100.0 * killed / len(codes):>6.1f}%")
        for name, code in sorted(codes.items()):
            if code not in KILLED and name not in eq:
                print(f"    not killed ({'survived' if code == 0 else code}): {name}")
        if score < minimum:
            failing.append(path)
    if failing:
        print(f"under {minimum:.0f}%: {', '.join(failing)}")
    return 1 if failing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--min", type=float, default=90.0, help="lowest score per module, in %%")
    parser.add_argument("--report-only", action="store_true", help="score the results in mutants/ as they are")
    parser.add_argument("--all", action="store_true", help="run the recorded equivalents too")
    parser.add_argument("--module", action="append", help="run only the mutants of this module (repeatable), "
                                                          "e.g. serve/guard.py; the others keep their results")
    parser.add_argument("--survivors", action="store_true",
                        help="run only the mutants not killed in the last run (mutants/ kept, not regenerated)")
    args = parser.parse_args()

    started = time.monotonic()
    previous = _previous_codes() if args.survivors else {}
    if args.survivors:  # the tests as they are now (new ones included); the mutants as they were
        from mutmut.utils.file_utils import copy_also_copy_files

        copy_also_copy_files()
    elif not args.report_only:
        generate()
    now = {name: change for path in modules() for name, change in changes(path).items()}
    recorded = recorded_equivalents()
    equivalent = {name for name, (_, change) in recorded.items() if now.get(name) == change}
    by_rule = {name for name, change in now.items() if sql_case_only(change)}
    print(f"{len(by_rule)} mutants only change the case of SQL text (equivalent by rule, not run)")
    equivalent |= by_rule
    for name in sorted(set(recorded) - equivalent):
        print(f"recorded as equivalent, but no longer the same change (run again): {name}")
    if not args.report_only:
        from mutmut.__main__ import _run

        run = sorted(now) if args.all else sorted(set(now) - equivalent)
        if args.module:
            wanted = {module_name(m) + "." for m in args.module}
            run = [name for name in run if any(name.startswith(w) for w in wanted)]
        if args.survivors:
            run = [name for name in run if previous.get(name) not in KILLED]
        log = Path("mutants") / "mutmut-run.log"
        print(f"{len(now)} mutants, {len(now) - len(run)} recorded as equivalent and not run, {len(run)} to run "
              f"(mutmut's output: {log})", flush=True)
        with log.open("w", encoding="utf-8") as out, contextlib.redirect_stdout(out):
            _run(run, args.max_children)
    code = report(equivalent, args.min)
    print(f"{time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
