-- 会计凭证抬头 清洗: typed dates and rate, flagged; INCR history, latest version per document wins
WITH source AS (
    SELECT * FROM ods.bkpf
),

cleansed AS (
    SELECT
        -- key
        sap_code(MANDT) AS mandt,
        sap_code(BUKRS) AS bukrs,
        sap_code(BELNR) AS belnr,
        sap_code(GJAHR) AS gjahr,
        -- document
        sap_code(BLART) AS blart,
        sap_date(BLDAT) AS bldat,
        sap_date(BUDAT) AS budat,
        sap_int(MONAT) AS monat,
        sap_date(CPUDT) AS cpudt,
        sap_code(CPUTM) AS cputm,
        sap_code(USNAM) AS usnam,
        sap_code(TCODE) AS tcode,
        sap_code(XBLNR) AS xblnr,
        sap_text(BKTXT) AS bktxt,
        sap_code(WAERS) AS waers,
        sap_amount(KURSF) AS kursf,
        -- reversal
        sap_code(STBLG) AS stblg,
        sap_code(STJAH) AS stjah,
        sap_code(AWTYP) AS awtyp,
        sap_code(AWKEY) AS awkey,
        'BKPF' AS _ods_table, _batch_id, _biz_date, _source_file, _row_number,
        CASE
            WHEN sap_code(BUKRS) = '' OR sap_code(BELNR) = '' OR sap_code(GJAHR) = '' THEN 'KEY_MISSING'
            WHEN sap_date_bad(BUDAT) OR BUDAT IS NULL OR trim(BUDAT) = '00000000' THEN 'BAD_DATE:BUDAT'
            WHEN sap_date_bad(BLDAT) THEN 'BAD_DATE:BLDAT'
            WHEN sap_date_bad(CPUDT) THEN 'BAD_DATE:CPUDT'
            WHEN sap_amount_bad(KURSF) THEN 'BAD_AMOUNT:KURSF'
        END AS _reject_reason
    FROM source
)

SELECT
    *,
    _reject_reason IS NULL AND row_number() OVER (
        PARTITION BY mandt, bukrs, belnr, gjahr, _reject_reason IS NULL
        ORDER BY _biz_date DESC, _batch_id DESC, _source_file DESC, _row_number DESC) = 1 AS _is_latest
FROM cleansed
