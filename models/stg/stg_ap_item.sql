-- 供应商未清项 + 已清项 清洗: one row per delivered BSIK/BSAK row (and per item that left the
-- BSIK snapshot); the latest state of each item wins
WITH source AS (
    SELECT *, NULL::DATE AS _left_snapshot_on, 'BSIK' AS _ods_table, 2 AS _precedence FROM ods.bsik
    UNION ALL
    -- items that left the open-items snapshot: the last open state delivered, and the date they left
    SELECT * EXCLUDE (_departed_batch_id, _departed_biz_date), _departed_biz_date, 'BSIK_DEPARTED', 2
    FROM ods.bsik_departed
    UNION ALL
    SELECT *, NULL::DATE, 'BSAK', 1 FROM ods.bsak  -- cleared wins on the same date
),

cleansed AS (
    SELECT
        -- item identity in the pool
        sap_code(MANDT) AS mandt,
        sap_code(BUKRS) AS bukrs,
        sap_code(GJAHR) AS gjahr,
        sap_code(BELNR) AS belnr,
        sap_code(BUZEI) AS buzei,
        -- partner and special G/L
        sap_code(LIFNR) AS lifnr,
        sap_code(UMSKS) AS umsks,
        sap_code(UMSKZ) AS umskz,
        -- clearing
        sap_date(AUGDT) AS augdt,
        sap_code(AUGBL) AS augbl,
        sap_code(ZUONR) AS zuonr,
        -- document
        sap_date(BUDAT) AS budat,
        sap_date(BLDAT) AS bldat,
        sap_code(WAERS) AS waers,
        sap_code(XBLNR) AS xblnr,
        sap_code(BLART) AS blart,
        sap_code(BSCHL) AS bschl,
        sap_code(SHKZG) AS shkzg,
        sap_amount(DMBTR) AS dmbtr,
        sap_amount(WRBTR) AS wrbtr,
        sap_text(SGTXT) AS sgtxt,
        sap_code(HKONT) AS hkont,
        -- payment terms
        sap_date(ZFBDT) AS zfbdt,
        sap_code(ZTERM) AS zterm,
        sap_int(ZBD1T) AS zbd1t,
        sap_int(ZBD2T) AS zbd2t,
        sap_int(ZBD3T) AS zbd3t,
        sap_code(REBZG) AS rebzg,
        sap_code(PRCTR) AS prctr,
        _ods_table, _precedence, _batch_id, _biz_date, _source_file, _row_number, _left_snapshot_on,
        CASE
            WHEN sap_code(BUKRS) = '' OR sap_code(GJAHR) = '' OR sap_code(BELNR) = '' OR sap_code(BUZEI) = ''
                OR sap_code(LIFNR) = '' THEN 'KEY_MISSING'
            WHEN sap_date_bad(BUDAT) OR sap_date(BUDAT) IS NULL THEN 'BAD_DATE:BUDAT'
            WHEN sap_date_bad(BLDAT) THEN 'BAD_DATE:BLDAT'
            WHEN sap_date_bad(ZFBDT) THEN 'BAD_DATE:ZFBDT'
            WHEN sap_date_bad(AUGDT) THEN 'BAD_DATE:AUGDT'
            WHEN sap_amount_bad(DMBTR) OR DMBTR IS NULL THEN 'BAD_AMOUNT:DMBTR'
            WHEN sap_amount_bad(WRBTR) THEN 'BAD_AMOUNT:WRBTR'
            WHEN sap_code(SHKZG) NOT IN ('S', 'H') THEN 'BAD_CODE:SHKZG'
            WHEN sap_date(ZFBDT) IS NULL AND sap_date(BLDAT) IS NULL THEN 'NO_BASELINE'
            WHEN _ods_table = 'BSAK' AND sap_date(AUGDT) IS NULL THEN 'NO_CLEARING_DATE'
        END AS _reject_reason
    FROM source
)

SELECT
    *,
    _reject_reason IS NULL AND row_number() OVER (
        PARTITION BY mandt, bukrs, gjahr, belnr, buzei, _reject_reason IS NULL
        ORDER BY _biz_date DESC, _precedence, _batch_id DESC, _source_file DESC, _row_number DESC) = 1
        AS _is_latest
FROM cleansed
