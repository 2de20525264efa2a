-- 应付明细: one row per vendor line item (BUKRS, GJAHR, BELNR, BUZEI) in its latest state
WITH item AS (
    SELECT * FROM stg.stg_ap_item WHERE _is_latest
),

dated AS (
    SELECT
        *,
        coalesce(zfbdt, bldat) AS baseline_date,
        shkzg = 'S' AND rebzg = '' AS credit_memo_without_reference  -- a vendor credit is S
    FROM item
)

SELECT
    -- item identity
    bukrs,
    gjahr,
    belnr,
    buzei,
    lifnr,
    -- classification
    umskz,
    umsks,
    umskz <> '' AS is_special_gl,
    hkont,
    blart,
    bschl,
    shkzg,
    -- amounts, signed as booked: S (debit) +, H (credit) -
    waers,
    signed_amount(dmbtr, shkzg) AS amount_lc,
    signed_amount(wrbtr, shkzg) AS amount_dc,
    -- dates and terms
    budat,
    bldat,
    baseline_date,
    net_due_date(baseline_date, zbd1t, zbd2t, zbd3t, credit_memo_without_reference) AS net_due_date,
    zterm,
    zbd1t,
    zbd2t,
    zbd3t,
    nullif(rebzg, '') AS rebzg,
    -- clearing
    augdt,
    nullif(augbl, '') AS augbl,
    augdt IS NOT NULL AS is_cleared,
    -- references
    prctr,
    sgtxt,
    nullif(zuonr, '') AS zuonr,
    nullif(xblnr, '') AS xblnr,
    _ods_table AS source_table,
    _batch_id,
    _biz_date
FROM dated
