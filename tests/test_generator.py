"""The sample generator writes deliveries that follow the contract, are deterministic, scale linearly,
and carry exactly the deliberate defects its manifest lists (checked with the contract and stdlib only)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from catalog.contract import ControlFile, parse_control
from catalog.register import load_reference, load_register
from sample_data.generator import generate

REGISTER = load_register()
CODECS = {"GBK": "gbk", "UTF-8": "utf-8"}
DOC = ("BUKRS", "BELNR", "GJAHR")
LINE = ("BUKRS", "BELNR", "GJAHR", "BUZEI")


# -- reading a landing folder with the contract alone -------------------------------------------------
def controls(out: Path) -> Iterator[tuple[Path, ControlFile]]:
    """Every delivery: main root first, then the re-delivery root; dates in order."""
    for root in (out, out / "redelivery"):
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
                for chk in sorted(folder.glob("*.chk")):
                    yield folder, parse_control(chk.read_text(encoding="utf-8"), chk.name)


def raw_text(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def rows_of(folder: Path, control: ControlFile) -> list[dict[str, str]]:
    rows = []
    for entry in control.files:
        text = raw_text(folder / entry.name).decode(CODECS[control.encoding])
        header, *body = csv.reader(io.StringIO(text, newline=""))
        rows += [dict(zip(header, r, strict=True)) for r in body]
    return rows


def table_rows(out: Path, code: str, skip: set[str] = frozenset()) -> list[tuple[str, dict[str, str]]]:
    """(biz_date, row) of every delivery of a table, in load order, leaving out the given files."""
    found = []
    for folder, control in controls(out):
        if control.table == code and not {f"{folder.relative_to(out)}/{f.name}" for f in control.files} & skip:
            found += [(control.biz_date, r) for r in rows_of(folder, control)]
    return found


def amount(text: str) -> Decimal:
    return -Decimal(text[:-1]) if text.endswith("-") else Decimal(text)


def defects(manifest: dict, *kinds: str) -> list[dict]:
    return [d for d in manifest["defects"] if d["kind"] in kinds]


def defect_files(manifest: dict, *kinds: str) -> set[str]:
    return {f for d in defects(manifest, *kinds) for f in d["files"]}


def defect_keys(manifest: dict, table: str, columns: tuple[str, ...], *kinds: str) -> set[tuple[str, ...]]:
    return {tuple(k["key"][c] for c in columns) for d in defects(manifest, *kinds) for k in d["keys"]
            if k["table"] == table}


def unreadable(manifest: dict) -> set[str]:
    """Files whose bytes are deliberately damaged or in the wrong encoding."""
    return defect_files(manifest, "md5_mismatch", "wrong_encoding")


def latest_bseg(out: Path, manifest: dict) -> dict[tuple[str, ...], dict[str, str]]:
    """The last delivered version of every BSEG line (INCR: a later delivery replaces a line)."""
    return {tuple(r[c] for c in LINE): r for _, r in table_rows(out, "BSEG", unreadable(manifest))}


# -- generated once per module -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    base = tmp_path_factory.mktemp("gen")
    specs = {"a": {"seed": 11}, "a_again": {"seed": 11}, "other_seed": {"seed": 12},
             "clean": {"seed": 11, "defects": False}, "clean_double": {"seed": 11, "defects": False, "scale": 0.04}}
    done = {}
    for name, spec in specs.items():
        args = {"days": 4, "scale": 0.02, "rows_per_file": 400, **spec}
        manifest = generate(base / name, **args)
        done[name] = (base / name, manifest)
    return done


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(runs):
    a, b = all_files(runs["a"][0]), all_files(runs["a_again"][0])
    assert list(a) == list(b)
    assert [name for name in a if a[name] != b[name]] == []


def test_another_seed_gives_other_data(runs):
    a, c = all_files(runs["a"][0]), all_files(runs["other_seed"][0])
    bseg = [name for name in a if "_BSEG_" in name and name.endswith(".gz")]
    assert bseg and all(a[n] != c.get(n) for n in bseg)


def test_manifest_is_written_beside_the_date_folders(runs):
    out, manifest = runs["a"]
    assert json.loads((out / "generation.json").read_text(encoding="utf-8")) == manifest
    assert manifest["biz_dates"] == ["20261026", "20261027", "20261028", "20261029"]
    assert sorted(p.name for p in out.iterdir()) == [*manifest["biz_dates"], "generation.json", "redelivery"]
    for code in manifest["rows"]:
        assert set(manifest["rows"][code]) == set(manifest["biz_dates"]), code  # every table every day
    assert manifest["skipped_defects"] == []
    codes = {d["code"] for d in manifest["defects"]}
    assert codes == set("abcdefghijklmn")
    for d in manifest["defects"]:
        assert d["rule"] and d["file"] and all((out / f).is_file() for f in d["files"]), d["id"]


@pytest.mark.parametrize("run", ["a", "clean"])
def test_control_files_match_their_data_files(runs, run):
    out, manifest = runs[run]
    bad_md5 = defect_files(manifest, "md5_mismatch")
    bad_rows = defect_files(manifest, "row_count_mismatch")
    written = {f: d["encoding_written"] for d in defects(manifest, "wrong_encoding") for f in d["files"]}
    damaged_seen = set()
    for folder, control in controls(out):
        on_disk = sorted(p.name for p in folder.glob(f"{control.system}_{control.table}_{control.biz_date}_*"))
        assert on_disk == [f.name for f in control.files]
        assert control.columns == tuple(REGISTER.table(control.table).column_names)
        for entry in control.files:
            path = folder / entry.name
            rel = str(path.relative_to(out))
            data = path.read_bytes()
            md5_ok = hashlib.md5(data).hexdigest() == entry.md5 and len(data) == entry.bytes
            if rel in bad_md5:
                assert not md5_ok
                damaged_seen.add(rel)
                continue
            assert md5_ok, rel
            codec = written.get(rel, CODECS[control.encoding])
            rows = len(list(csv.reader(io.StringIO(raw_text(path).decode(codec), newline="")))) - 1
            if rel in bad_rows:
                assert rows != entry.rows
                damaged_seen.add(rel)
            else:
                assert rows == entry.rows, rel
    assert damaged_seen == bad_md5 | bad_rows
    if run == "clean":
        assert manifest["defects"] == [] and not (out / "redelivery").exists()


@pytest.mark.parametrize("run", ["a", "clean"])
def test_headers_and_encodings(runs, run):
    out, manifest = runs[run]
    wrong = defect_files(manifest, "wrong_encoding")
    for folder, control in controls(out):
        assert control.encoding == REGISTER.table(control.table).encoding
        assert control.encoding == ("GBK" if control.system == "ERP" else "UTF-8")
        for entry in control.files:
            rel = str((folder / entry.name).relative_to(out))
            if rel in defect_files(manifest, "md5_mismatch"):
                continue
            text = raw_text(folder / entry.name)
            if rel in wrong:
                with pytest.raises(UnicodeDecodeError):
                    text.decode(CODECS[control.encoding])
                continue
            header = next(csv.reader(io.StringIO(text.decode(CODECS[control.encoding]), newline="")))
            assert header == REGISTER.table(control.table).column_names
            assert text.endswith(b"\r\n")
    assert len(wrong) == (1 if run == "a" else 0)


@pytest.mark.parametrize("run", ["a", "clean"])
def test_every_voucher_balances_but_the_deliberate_ones(runs, run):
    out, manifest = runs[run]
    sums: dict[tuple[str, ...], Decimal] = {}
    for key, row in latest_bseg(out, manifest).items():
        signed = amount(row["DMBTR"]) if row["SHKZG"] == "S" else -amount(row["DMBTR"])
        sums[key[:3]] = sums.get(key[:3], Decimal(0)) + signed
    unbalanced = {doc for doc, total in sums.items() if total != 0}
    expected = {tuple(d["document"][c] for c in DOC) for d in defects(manifest, "unbalanced_voucher", "orphan_line")}
    expected |= {k[:3] for k in defect_keys(manifest, "BSEG", LINE, "empty_key")}
    assert unbalanced == expected
    assert len(sums) > 100


@pytest.mark.parametrize("run", ["a", "clean"])
def test_every_open_item_has_its_line_but_the_deliberate_one(runs, run):
    out, manifest = runs[run]
    lines = latest_bseg(out, manifest)
    last = manifest["biz_dates"][-1]
    for code in ("BSID", "BSIK"):
        items = [r for folder, c in controls(out) if c.table == code and c.biz_date == last
                 and folder.parent == out for r in rows_of(folder, c)]
        assert items
        missing = {tuple(r[c] for c in LINE) for r in items} - set(lines)
        assert missing == defect_keys(manifest, code, LINE, "open_item_without_line")
        for r in items:
            line = lines.get(tuple(r[c] for c in LINE))
            if line:  # BSID/BSIK copy the line exactly, open
                assert (r["DMBTR"], r["SHKZG"], r["ZUONR"], r["ZFBDT"], r["HKONT"]) == \
                    (line["DMBTR"], line["SHKZG"], line["ZUONR"], line["ZFBDT"], line["HKONT"])
                assert (r["AUGDT"], r["AUGBL"], line["AUGBL"]) == ("00000000", "", "")
    if run == "a":
        assert defect_keys(manifest, "BSID", LINE, "open_item_without_line")


def test_a_cleared_item_leaves_bsid_and_enters_bsad_the_same_day(runs):
    out, manifest = runs["clean"]
    snapshot: dict[str, set[tuple[str, ...]]] = {}
    cleared: dict[str, list[dict[str, str]]] = {}
    for folder, control in controls(out):
        if control.table == "BSID":
            snapshot[control.biz_date] = {tuple(r[c] for c in LINE) for r in rows_of(folder, control)}
        if control.table == "BSAD":
            cleared[control.biz_date] = rows_of(folder, control)
    dates = manifest["biz_dates"]
    moved = 0
    for prev, day in pairwise(dates):
        for r in cleared[day]:
            key = tuple(r[c] for c in LINE)
            assert r["AUGDT"] == day and r["AUGBL"] and key not in snapshot[day]
            moved += key in snapshot[prev]
    assert moved > 0


def test_scale_is_linear(runs):
    single = sum(runs["clean"][1]["rows"]["BSEG"].values())
    double = sum(runs["clean_double"][1]["rows"]["BSEG"].values())
    assert 1.7 <= double / single <= 2.3, (single, double)


def test_clean_delivery_has_no_duplicate_keys(runs):
    out, _ = runs["clean"]
    for folder, control in controls(out):
        key = REGISTER.table(control.table).key
        for entry in control.files:
            one = replace(control, files=(entry,))
            keys = [tuple(r[c] for c in key) for r in rows_of(folder, one)]
            assert len(keys) == len(set(keys)), entry.name


def test_duplicates_are_exactly_the_listed_ones(runs):
    out, manifest = runs["a"]
    for d in defects(manifest, "duplicate_rows"):
        table = REGISTER.table(d["table"])
        rows = table_rows(out, d["table"], unreadable(manifest))
        listed = {tuple(k["key"][c] for c in table.key) for k in d["keys"]}
        counts: dict[tuple[str, ...], int] = {}
        for biz, r in rows:
            if biz == d["biz_date"]:
                key = tuple(r[c] for c in table.key)
                counts[key] = counts.get(key, 0) + 1
        assert {k for k, n in counts.items() if n > 1} == listed


def test_erp_and_yx_reconcile_but_for_the_deliberate_difference(runs):
    units = {org: u.bukrs for org, u in load_reference().supply_units.items()}
    for run in ("a", "clean"):
        out, manifest = runs[run]
        headers = {tuple(r[c] for c in DOC): r for _, r in table_rows(out, "BKPF", unreadable(manifest))}
        erp: dict[tuple[str, str], Decimal] = {}
        for key, r in latest_bseg(out, manifest).items():
            head = headers.get(key[:3])
            if r["HKONT"] == "1122010000" and head and head["BLART"] in ("DR", "DG"):
                signed = amount(r["DMBTR"]) if r["SHKZG"] == "S" else -amount(r["DMBTR"])
                month = (r["BUKRS"], head["BUDAT"][:6])
                erp[month] = erp.get(month, Decimal(0)) + signed
        bills = {r["RCVBL_AMT_ID"]: r for _, r in table_rows(out, "A_RCVBL_FLOW", unreadable(manifest))}
        yx: dict[tuple[str, str], Decimal] = {}
        for r in bills.values():
            month = (units[r["ORG_NO"]], r["RCVBL_YM"])
            yx[month] = yx.get(month, Decimal(0)) + amount(r["RCVBL_AMT"])
        assert len(yx) >= 4 * len(set(units.values()))
        diff = {k: erp.get(k, Decimal(0)) - yx.get(k, Decimal(0)) for k in erp.keys() | yx.keys()}
        diff = {k: v for k, v in diff.items() if v}
        expected = {(d["bukrs"], d["bill_month"]): Decimal(d["difference"])
                    for d in defects(manifest, "reconciliation_difference")}
        assert diff == expected
        assert bool(expected) == (run == "a")


def test_redelivered_day_differs_only_where_the_manifest_says(runs):
    out, manifest = runs["a"]
    last = manifest["biz_dates"][-1]
    first, again = all_files(out / last), all_files(out / "redelivery" / last)
    assert list(first) == list(again)
    changed = sorted(name.split("_")[1] for name in first if first[name] != again[name] and name.endswith("gz"))
    assert changed == ["BKPF", "BSEG", "BSID"]
    assert all(first[n] == again[n] for n in first if n.endswith(".csv"))  # master data and YX unchanged
    single = manifest["redelivery_rows"]["A_RCVBL_FLOW"]
    assert set(single) == {manifest["biz_dates"][1], last}


def test_fewer_days_skip_what_does_not_fit(tmp_path):
    manifest = generate(tmp_path, days=1, scale=0.01, seed=3)
    skipped = {s["code"] for s in manifest["skipped_defects"]}
    assert {"b", "f", "g", "h", "i", "j", "k", "l"} <= skipped
    assert {d["code"] for d in manifest["defects"]} == {"a", "c", "e", "m", "n"}
    assert (tmp_path / "redelivery" / "20261026").is_dir()
