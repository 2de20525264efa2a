-- 科目名称 清洗: one row per delivered account text, per language
WITH source AS (
    SELECT * FROM ods.skat
),

cleansed AS (
    SELECT
        sap_code(MANDT) AS mandt,
        sap_code(SPRAS) AS spras,
        sap_code(KTOPL) AS ktopl,
        sap_code(SAKNR) AS saknr,
        sap_text(TXT20) AS txt20,
        sap_text(TXT50) AS txt50,
        'SKAT' AS _ods_table, _batch_id, _biz_date, _source_file, _row_number,
        CASE WHEN sap_code(SPRAS) = '' OR sap_code(KTOPL) = '' OR sap_code(SAKNR) = '' THEN 'KEY_MISSING' END
            AS _reject_reason
    FROM source
)

SELECT
    *,
    _reject_reason IS NULL AND row_number() OVER (
        PARTITION BY mandt, spras, ktopl, saknr, _reject_reason IS NULL
        ORDER BY _biz_date DESC, _batch_id DESC, _source_file DESC, _row_number DESC) = 1 AS _is_latest
FROM cleansed
