-- 公司代码 清洗: trimmed, flagged; every delivered row of the latest T001 snapshot
WITH source AS (
    SELECT * FROM ods.t001
),

cleansed AS (
    SELECT
        -- key
        sap_code(MANDT) AS mandt,
        sap_code(BUKRS) AS bukrs,
        -- attributes
        sap_text(BUTXT) AS butxt,
        sap_text(ORT01) AS ort01,
        sap_code(LAND1) AS land1,
        sap_code(WAERS) AS waers,
        sap_code(KTOPL) AS ktopl,
        -- delivery
        'T001' AS _ods_table, _batch_id, _biz_date, _source_file, _row_number,
        CASE WHEN sap_code(BUKRS) = '' THEN 'KEY_MISSING' END AS _reject_reason
    FROM source
)

SELECT
    *,
    _reject_reason IS NULL AND row_number() OVER (
        PARTITION BY mandt, bukrs, _reject_reason IS NULL
        ORDER BY _biz_date DESC, _batch_id DESC, _source_file DESC, _row_number DESC) = 1 AS _is_latest
FROM cleansed
