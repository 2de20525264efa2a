-- 清洗规则 Cleansing rules — the one place they are defined. Every stg_ model applies them.
--
--   rule             macro                     what it does
--   trim             sap_text(v)               trim blanks; empty → NULL                     (texts)
--   trim (codes)     sap_code(v)               trim blanks; NULL → ''  (SAP blank keys, joins)   (codes, keys)
--   SAP date         sap_date(v)               'YYYYMMDD' → DATE; '00000000', '' and NULL → NULL
--                    sap_date_bad(v)           true when v is neither empty nor a valid YYYYMMDD
--   amount           sap_amount(v)             '1234.50' → 1234.50; trailing minus '1234.50-' → -1234.50
--                    sap_amount_bad(v)         true when v is not empty and not such a number
--   integer          sap_int(v)                '030' → 30; empty → 0 (day counts, periods)
--   sign             signed_amount(amt, shkzg) S (debit) → +amt, H (credit) → -amt
--   de-duplication   (in each stg_ model)      the latest delivered version of a key wins:
--                    ORDER BY _biz_date DESC, _batch_id DESC, _source_file DESC, _row_number DESC
--   quarantine       (in each stg_ model)      rows with a reason code in _reject_reason go to
--                    quarantine.<model>: KEY_MISSING, BAD_DATE:<col>, BAD_AMOUNT:<col>, BAD_CODE:<col>
--                    AR/AP items also: NO_BASELINE (neither ZFBDT nor BLDAT: no net due date),
--                    NO_CLEARING_DATE (a BSAD/BSAK row without AUGDT: SAP clears nothing without one)

CREATE OR REPLACE MACRO sap_text(v) AS nullif(trim(v), '');

CREATE OR REPLACE MACRO sap_code(v) AS coalesce(trim(v), '');

CREATE OR REPLACE MACRO sap_date(v) AS
    CASE WHEN v IS NULL OR trim(v) IN ('', '00000000') THEN NULL
         ELSE try_strptime(trim(v), '%Y%m%d')::DATE END;

CREATE OR REPLACE MACRO sap_date_bad(v) AS
    v IS NOT NULL AND trim(v) NOT IN ('', '00000000')
    AND (NOT regexp_full_match(trim(v), '[0-9]{8}') OR try_strptime(trim(v), '%Y%m%d') IS NULL);

CREATE OR REPLACE MACRO sap_amount(v) AS
    CASE WHEN v IS NULL OR trim(v) = '' THEN NULL
         WHEN trim(v) LIKE '%-' THEN -TRY_CAST(rtrim(trim(v), '-') AS DECIMAL(18, 2))
         ELSE TRY_CAST(trim(v) AS DECIMAL(18, 2)) END;

CREATE OR REPLACE MACRO sap_amount_bad(v) AS
    v IS NOT NULL AND trim(v) <> '' AND NOT regexp_full_match(trim(v), '[0-9]+(\.[0-9]+)?-?');

CREATE OR REPLACE MACRO sap_int(v) AS coalesce(TRY_CAST(nullif(trim(v), '') AS INTEGER), 0);

CREATE OR REPLACE MACRO signed_amount(amount, shkzg) AS
    CASE shkzg WHEN 'S' THEN amount WHEN 'H' THEN -amount END;
