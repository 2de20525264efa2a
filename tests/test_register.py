"""The register (回流表清单): the committed one is complete, a malformed one is refused clearly."""

from __future__ import annotations

import copy

import pytest
import yaml

from catalog.guide import render_guide
from catalog.register import (
    REGISTER_PATH,
    RegisterError,
    load_reference,
    parse_reference,
    parse_register,
)

CONTRACT_TABLES = {
    # (system, mode, key after MANDT) as the delivery contract lists them
    "T001": ("ERP", "FULL", ["BUKRS"]),
    "SKAT": ("ERP", "FULL", ["SPRAS", "KTOPL", "SAKNR"]),
    "KNA1": ("ERP", "FULL", ["KUNNR"]),
    "LFA1": ("ERP", "FULL", ["LIFNR"]),
    "BKPF": ("ERP", "INCR", ["BUKRS", "BELNR", "GJAHR"]),
    "BSEG": ("ERP", "INCR", ["BUKRS", "BELNR", "GJAHR", "BUZEI"]),
    "BSID": ("ERP", "FULL", ["BUKRS", "KUNNR", "UMSKS", "UMSKZ", "AUGDT", "AUGBL", "ZUONR", "GJAHR", "BELNR", "BUZEI"]),
    "BSAD": ("ERP", "INCR", ["BUKRS", "KUNNR", "UMSKS", "UMSKZ", "AUGDT", "AUGBL", "ZUONR", "GJAHR", "BELNR", "BUZEI"]),
    "BSIK": ("ERP", "FULL", ["BUKRS", "LIFNR", "UMSKS", "UMSKZ", "AUGDT", "AUGBL", "ZUONR", "GJAHR", "BELNR", "BUZEI"]),
    "BSAK": ("ERP", "INCR", ["BUKRS", "LIFNR", "UMSKS", "UMSKZ", "AUGDT", "AUGBL", "ZUONR", "GJAHR", "BELNR", "BUZEI"]),
    "A_RCVBL_FLOW": ("YX", "INCR", ["RCVBL_AMT_ID"]),
}
BSEG_COLUMNS = ("MANDT BUKRS BELNR GJAHR BUZEI BSCHL KOART UMSKZ SHKZG DMBTR WRBTR SGTXT ZUONR HKONT KUNNR "
                "LIFNR ZFBDT ZTERM ZBD1T ZBD2T ZBD3T REBZG AUGDT AUGBL PRCTR KOSTL").split()


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(REGISTER_PATH.read_text(encoding="utf-8"))


def test_register_has_every_contract_table_with_its_mode_and_key(register):
    assert [t.code for t in register.tables] == list(CONTRACT_TABLES)
    for code, (system, mode, key) in CONTRACT_TABLES.items():
        t = register.table(code)
        assert (t.system, t.mode) == (system, mode), code
        expected_key = key if system == "YX" else ["MANDT", *key]
        assert list(t.key) == expected_key, code
        if system == "ERP":
            assert t.column_names[0] == "MANDT"
            assert t.encoding == "GBK"
        else:
            assert t.encoding == "UTF-8"


def test_bseg_columns_and_types_follow_the_contract(register):
    bseg = register.table("BSEG")
    assert bseg.column_names == BSEG_COLUMNS
    assert bseg.column("DMBTR").sap_type == "CURR(13,2)"
    assert bseg.column("DMBTR").zh == "本位币金额"
    assert bseg.column("BELNR").required and bseg.column("BELNR").in_key
    assert not bseg.column("SGTXT").required


def test_blank_key_columns_of_open_items_are_not_required(register):
    bsid = register.table("BSID")
    assert bsid.column("AUGBL").in_key and not bsid.column("AUGBL").required
    assert bsid.column("BELNR").required


def test_every_column_has_chinese_and_english_description(register):
    for t in register.tables:
        for c in t.columns:
            assert c.zh and c.en, f"{t.code}.{c.name}"
            assert any("\u4e00" <= ch <= "\u9fff" for ch in c.zh), f"{t.code}.{c.name} zh is not Chinese"


def test_invalid_mode_names_the_table_and_field(raw):
    bad = copy.deepcopy(raw)
    bad["tables"][5]["mode"] = "DELTA"
    with pytest.raises(RegisterError, match=r"table BSEG: field 'mode'"):
        parse_register(bad)


def test_unknown_column_names_the_table(raw):
    bad = copy.deepcopy(raw)
    bad["tables"][0]["columns"].append("XYZ01")
    with pytest.raises(RegisterError, match=r"table T001: field 'columns': \['XYZ01'\] not defined"):
        parse_register(bad)


def test_key_outside_columns_is_refused(raw):
    bad = copy.deepcopy(raw)
    bad["tables"][2]["key"] = ["MANDT", "KUNNR", "NOPE"]
    with pytest.raises(RegisterError, match=r"table KNA1: .*key: \['NOPE'\] not among"):
        parse_register(bad)


def test_missing_field_is_named(raw):
    bad = copy.deepcopy(raw)
    del bad["tables"][3]["owner"]
    with pytest.raises(RegisterError, match=r"table LFA1: field 'owner': Field required"):
        parse_register(bad)


def test_bad_field_type_names_the_field(raw):
    bad = copy.deepcopy(raw)
    bad["fields"]["DMBTR"]["type"] = "MONEY"
    with pytest.raises(RegisterError, match=r"field DMBTR: field 'type'"):
        parse_register(bad)


def test_duplicate_table_is_refused(raw):
    bad = copy.deepcopy(raw)
    bad["tables"].append(copy.deepcopy(bad["tables"][0]))
    with pytest.raises(RegisterError, match=r"table T001: field 'code': listed twice"):
        parse_register(bad)


def test_reference_maps_each_company_to_one_organisation():
    ref = load_reference()
    assert len(ref.companies) == 12
    assert ref.organisation_of("3311").code == ref.organisation_of("3303").code
    data = ref.model_dump()
    data["organisations"][1]["company_codes"].append("3300")
    with pytest.raises(RegisterError, match="company code 3300 is in organisations"):
        parse_reference(data)


def test_supply_units_point_at_known_company_codes():
    ref = load_reference()
    data = ref.model_dump()
    data["supply_units"]["999"] = {"bukrs": "9999", "name_zh": "不存在"}
    with pytest.raises(RegisterError, match="supply unit 999: company code 9999"):
        parse_reference(data)


def test_guide_covers_every_table_and_column(register):
    text = render_guide(register, load_reference())
    for t in register.tables:
        assert f"{t.system}.{t.code}" in text
        assert f"{t.system}_{t.code}_20261026.chk" in text
        for c in t.columns:
            assert f"`{c.name}` | {c.zh} |" in text
    assert "拒收" in text
