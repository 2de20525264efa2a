-- 应付明细: one row per vendor line item (BUKRS, GJAHR, BELNR, BUZEI) in its latest state
WITH item AS (
    SELECT * FROM stg.stg_ap_item WHERE _is_latest
),

line AS (
    -- the newest BSEG version of each line: SAP re-delivers a line with AUGDT/AUGBL when it is cleared
    SELECT mandt, bukrs, gjahr, belnr, buzei, augdt, augbl, _biz_date
    FROM stg.stg_bseg
    WHERE _is_latest AND koart = 'K'
),

compared AS (
    -- an item's state is the newest evidence: its BSEG line wins when that is newer, or of the
    -- same date and cleared while the item row is open
    SELECT
        i.*,
        coalesce(l._biz_date > i._biz_date
                 OR (l._biz_date = i._biz_date AND l.augdt IS NOT NULL AND i.augdt IS NULL), false) AS bseg_is_newer,
        l.augdt AS bseg_augdt,
        l.augbl AS bseg_augbl
    FROM item AS i
    LEFT JOIN line AS l
        ON l.mandt = i.mandt AND l.bukrs = i.bukrs AND l.gjahr = i.gjahr AND l.belnr = i.belnr AND l.buzei = i.buzei
),

evidenced AS (
    SELECT
        * EXCLUDE (augdt, augbl, _ods_table, _left_snapshot_on),
        CASE WHEN bseg_is_newer THEN bseg_augdt ELSE augdt END AS augdt,
        CASE WHEN bseg_is_newer THEN bseg_augbl ELSE augbl END AS augbl,
        CASE WHEN bseg_is_newer THEN 'BSEG' ELSE _ods_table END AS state_source,
        -- left the open-items snapshot and nothing says it was cleared: kept open, and reported
        CASE WHEN (CASE WHEN bseg_is_newer THEN bseg_augdt ELSE augdt END) IS NULL THEN _left_snapshot_on END
            AS left_open_snapshot_on
    FROM compared
),

dated AS (
    SELECT
        *,
        coalesce(zfbdt, bldat) AS baseline_date,
        shkzg = 'S' AND rebzg = '' AS credit_memo_without_reference,  -- a vendor credit is S
        -- noted items (down payment requests): statistical in SAP, never part of a balance
        umskz IN (SELECT umskz FROM ref.noted_item_indicator) AS is_noted_item
    FROM evidenced
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
    is_noted_item,
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
    -- clearing, as the newest evidence has it
    augdt,
    nullif(augbl, '') AS augbl,
    augdt IS NOT NULL AS is_cleared,
    -- references
    prctr,
    sgtxt,
    nullif(zuonr, '') AS zuonr,
    nullif(xblnr, '') AS xblnr,
    state_source AS source_table,
    left_open_snapshot_on,
    _batch_id,
    _biz_date
FROM dated
