-- 会计凭证行项目 清洗: typed amounts, dates and terms, flagged; latest version per line item wins
WITH source AS (
    SELECT * FROM ods.bseg
),

cleansed AS (
    SELECT
        -- key
        sap_code(MANDT) AS mandt,
        sap_code(BUKRS) AS bukrs,
        sap_code(BELNR) AS belnr,
        sap_code(GJAHR) AS gjahr,
        sap_code(BUZEI) AS buzei,
        -- classification
        sap_code(BSCHL) AS bschl,
        sap_code(KOART) AS koart,
        sap_code(UMSKZ) AS umskz,
        sap_code(SHKZG) AS shkzg,
        -- amounts (unsigned as delivered; SHKZG carries the sign)
        sap_amount(DMBTR) AS dmbtr,
        sap_amount(WRBTR) AS wrbtr,
        -- account assignment
        sap_text(SGTXT) AS sgtxt,
        sap_code(ZUONR) AS zuonr,
        sap_code(HKONT) AS hkont,
        sap_code(KUNNR) AS kunnr,
        sap_code(LIFNR) AS lifnr,
        -- payment terms
        sap_date(ZFBDT) AS zfbdt,
        sap_code(ZTERM) AS zterm,
        sap_int(ZBD1T) AS zbd1t,
        sap_int(ZBD2T) AS zbd2t,
        sap_int(ZBD3T) AS zbd3t,
        sap_code(REBZG) AS rebzg,
        -- clearing
        sap_date(AUGDT) AS augdt,
        sap_code(AUGBL) AS augbl,
        sap_code(PRCTR) AS prctr,
        sap_code(KOSTL) AS kostl,
        'BSEG' AS _ods_table, _batch_id, _biz_date, _source_file, _row_number,
        CASE
            WHEN sap_code(BUKRS) = '' OR sap_code(BELNR) = '' OR sap_code(GJAHR) = '' OR sap_code(BUZEI) = ''
                THEN 'KEY_MISSING'
            WHEN sap_amount_bad(DMBTR) OR DMBTR IS NULL THEN 'BAD_AMOUNT:DMBTR'
            WHEN sap_amount_bad(WRBTR) THEN 'BAD_AMOUNT:WRBTR'
            WHEN sap_code(SHKZG) NOT IN ('S', 'H') THEN 'BAD_CODE:SHKZG'
            WHEN sap_date_bad(ZFBDT) THEN 'BAD_DATE:ZFBDT'
            WHEN sap_date_bad(AUGDT) THEN 'BAD_DATE:AUGDT'
        END AS _reject_reason
    FROM source
)

SELECT
    *,
    _reject_reason IS NULL AND row_number() OVER (
        PARTITION BY mandt, bukrs, belnr, gjahr, buzei, _reject_reason IS NULL
        ORDER BY _biz_date DESC, _batch_id DESC, _source_file DESC, _row_number DESC) = 1 AS _is_latest
FROM cleansed
