"""A malformed register, reference, suite or glossary file is named by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.glossary import GLOSSARY_PATH, GlossaryError, load_glossary
from catalog.register import REFERENCE_PATH, REGISTER_PATH, RegisterError, load_reference, load_register
from quality.specs import SuiteSpecError, load_suite

SUITES = Path(__file__).resolve().parents[1] / "quality" / "suites"


def _broken(tmp_path: Path, source: Path, old: str, new: str, nth: int = 1) -> tuple[Path, int]:
    """A copy of `source` with the nth `old` replaced; and the line it is on."""
    text = source.read_text(encoding="utf-8")
    at = -1
    for _ in range(nth):
        at = text.index(old, at + 1)
    path = tmp_path / source.name
    path.write_text(text[:at] + new + text[at + len(old):], encoding="utf-8")
    return path, text[:at].count("\n") + 1


def test_register_table_field(tmp_path):
    path, line = _broken(tmp_path, REGISTER_PATH, "mode: INCR", "mode: SOMETIMES", nth=2)
    with pytest.raises(RegisterError) as err:
        load_register(path)
    assert str(err.value).startswith(f"register.yaml:{line}: table ")
    assert "field 'mode'" in str(err.value)


def test_register_data_element(tmp_path):
    path, line = _broken(tmp_path, REGISTER_PATH, "STCD5: {type: CHAR,", "STCD5: {type: TEXT,")
    with pytest.raises(RegisterError, match=rf"^register.yaml:{line}: field STCD5: field 'type'"):
        load_register(path)


def test_register_unknown_column_points_at_the_columns_line(tmp_path):
    path, line = _broken(tmp_path, REGISTER_PATH, "NAME1, ORT01, LAND1, STCD5, KTOKD", "NAME1, ORTX1, LAND1, STCD5, KTOKD")
    with pytest.raises(RegisterError, match=rf"^register.yaml:{line}: table KNA1: field 'columns': \['ORTX1'\]"):
        load_register(path)


def test_register_not_yaml(tmp_path):
    path, line = _broken(tmp_path, REGISTER_PATH, "tables:\n", "tables:\n  - {code: [\n")
    with pytest.raises(RegisterError, match=rf"register.yaml:{line + 2}: not valid YAML"):
        load_register(path)


def test_reference_field(tmp_path):
    text = REFERENCE_PATH.read_text(encoding="utf-8")
    key = next(line.split(":")[0].strip() for line in text.splitlines() if line.strip().startswith("name_zh"))
    path, line = _broken(tmp_path, REFERENCE_PATH, f"{key}:", "nom:")
    with pytest.raises(RegisterError) as err:
        load_reference(path)
    assert str(err.value).startswith(f"reference.yaml:{line}: ") or \
        str(err.value).startswith(f"reference.yaml:{line - 1}: ")  # the entry's line when the field is missing
    assert "name_zh" in str(err.value)


def test_suite_expectation_field(tmp_path):
    source = SUITES / "dwd_ar_item.yaml"
    path, line = _broken(tmp_path, source, "severity: error", "severity: fatal")
    with pytest.raises(SuiteSpecError) as err:
        load_suite(path)
    assert str(err.value).startswith(f"{path}:{line}: suite 'dwd_ar_item', expectation ")
    assert "severity" in str(err.value)


def test_glossary_field(tmp_path):
    path, line = _broken(tmp_path, GLOSSARY_PATH, "domain: 应付", "domain: 应付: 应收")
    with pytest.raises(GlossaryError, match=rf"glossary.yaml:{line}: not valid YAML"):
        load_glossary(path)
    path, line = _broken(tmp_path, GLOSSARY_PATH, "    en: Accounts payable\n", "    en: 7\n")
    with pytest.raises(GlossaryError, match=rf"glossary.yaml:{line}: term 应付账款: field 'en'"):
        load_glossary(path)
