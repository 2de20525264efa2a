"""Which checks catch each kind of defect the sample generator injects on purpose.

Keyed by the defect code of sample_data/README.md (the `code` of each entry in the sample's
generation.json). `respool check --manifest` lists every injected defect with the checks that
caught it; tests/test_end_to_end.py asserts that each of these checks does fail on the sample.
"""

from __future__ import annotations

CAUGHT_BY: dict[str, list[str]] = {
    "a": ["delivery.each_date_delivered_once"],
    "b": ["ods_bseg.key_unique", "ods_a_rcvbl_flow.key_unique",
          "cleansing.no_superseded_duplicates_within_a_delivery"],
    "c": ["ods_bseg.ZFBDT__zero_date", "ods_kna1.ERDAT__zero_date"],
    "d": ["ods_bkpf.KURSF__trailing_minus", "ods_a_rcvbl_flow.RCVBL_AMT__trailing_minus"],
    "e": ["ods_kna1.no_trailing_blanks", "ods_bseg.no_trailing_blanks", "ods_bsid.no_trailing_blanks"],
    "f": ["dwd_fi_voucher_item.line_has_header"],
    "g": ["dwd_fi_voucher_item.voucher_balances"],
    "h": ["dwd_ar_item.item_in_bseg_same_amount"],
    "i": ["delivery.no_refused_deliveries"],
    "j": ["delivery.no_refused_deliveries"],
    "k": ["delivery.no_refused_deliveries"],
    "l": ["cleansing.nothing_quarantined", "ods_a_rcvbl_flow.RCVED_AMT__format", "ods_bseg.BELNR__not_null"],
    "m": ["ads_ar_recon_yx.erp_matches_yx"],
    "n": ["delivery.latest_delivery_on_time"],
}


def defects_caught(manifest: dict, failed: set[str]) -> list[tuple[dict, list[str]]]:
    """Each injected defect of a manifest with the declared checks that failed; checks of the
    defect's own table first (`ods_bseg.…` for a BSEG defect) when any of them failed."""
    out = []
    for defect in manifest.get("defects", []):
        caught = [c for c in CAUGHT_BY.get(defect["code"], []) if c in failed]
        own = [c for c in caught if c.startswith(f"ods_{defect['table'].lower()}.")]
        out.append((defect, own or caught))
    return out
