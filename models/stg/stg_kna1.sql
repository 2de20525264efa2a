-- 客户主数据 清洗
WITH source AS (
    SELECT * FROM ods.kna1
),

cleansed AS (
    SELECT
        sap_code(MANDT) AS mandt,
        sap_code(KUNNR) AS kunnr,
        sap_text(NAME1) AS name1,
        sap_text(ORT01) AS ort01,
        sap_code(LAND1) AS land1,
        sap_code(STCD5) AS stcd5,
        sap_code(KTOKD) AS ktokd,
        sap_date(ERDAT) AS erdat,
        sap_code(LOEVM) = 'X' AS loevm,
        'KNA1' AS _ods_table, _batch_id, _biz_date, _source_file, _row_number,
        CASE
            WHEN sap_code(KUNNR) = '' THEN 'KEY_MISSING'
            WHEN sap_date_bad(ERDAT) THEN 'BAD_DATE:ERDAT'
        END AS _reject_reason
    FROM source
)

SELECT
    *,
    _reject_reason IS NULL AND row_number() OVER (
        PARTITION BY mandt, kunnr, _reject_reason IS NULL
        ORDER BY _biz_date DESC, _batch_id DESC, _source_file DESC, _row_number DESC) = 1 AS _is_latest
FROM cleansed
