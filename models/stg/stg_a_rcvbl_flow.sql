-- 应收电费信息 清洗: typed amounts (trailing minus allowed) and bill month; latest version per bill wins
WITH source AS (
    SELECT * FROM ods.a_rcvbl_flow
),

cleansed AS (
    SELECT
        sap_code(RCVBL_AMT_ID) AS rcvbl_amt_id,
        sap_code(CONS_NO) AS cons_no,
        sap_code(ORG_NO) AS org_no,
        sap_code(RCVBL_YM) AS rcvbl_ym,
        sap_amount(T_PQ) AS t_pq,
        sap_amount(RCVBL_AMT) AS rcvbl_amt,
        sap_amount(RCVED_AMT) AS rcved_amt,
        sap_amount(RCVBL_PENALTY) AS rcvbl_penalty,
        sap_amount(RCVED_PENALTY) AS rcved_penalty,
        sap_amount(OWE_AMT) AS owe_amt,
        sap_code(SETTLE_FLAG) AS settle_flag,
        sap_date(RELEASE_DATE) AS release_date,
        'A_RCVBL_FLOW' AS _ods_table, _batch_id, _biz_date, _source_file, _row_number,
        CASE
            WHEN sap_code(RCVBL_AMT_ID) = '' THEN 'KEY_MISSING'
            WHEN NOT regexp_full_match(sap_code(RCVBL_YM), '20[0-9]{2}(0[1-9]|1[0-2])') THEN 'BAD_DATE:RCVBL_YM'
            WHEN sap_amount_bad(RCVBL_AMT) OR RCVBL_AMT IS NULL THEN 'BAD_AMOUNT:RCVBL_AMT'
            WHEN sap_amount_bad(RCVED_AMT) THEN 'BAD_AMOUNT:RCVED_AMT'
            WHEN sap_amount_bad(OWE_AMT) THEN 'BAD_AMOUNT:OWE_AMT'
            WHEN sap_amount_bad(T_PQ) THEN 'BAD_AMOUNT:T_PQ'
            WHEN sap_amount_bad(RCVBL_PENALTY) THEN 'BAD_AMOUNT:RCVBL_PENALTY'
            WHEN sap_amount_bad(RCVED_PENALTY) THEN 'BAD_AMOUNT:RCVED_PENALTY'
            WHEN sap_date_bad(RELEASE_DATE) THEN 'BAD_DATE:RELEASE_DATE'
        END AS _reject_reason
    FROM source
)

SELECT
    *,
    _reject_reason IS NULL AND row_number() OVER (
        PARTITION BY rcvbl_amt_id, _reject_reason IS NULL
        ORDER BY _biz_date DESC, _batch_id DESC, _source_file DESC, _row_number DESC) = 1 AS _is_latest
FROM cleansed
