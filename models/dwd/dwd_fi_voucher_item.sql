-- 会计凭证行项目: the latest version of each line, signed, with its header's dates
WITH item AS (
    SELECT * FROM stg.stg_bseg WHERE _is_latest
),

header AS (
    SELECT bukrs, belnr, gjahr, blart, bldat, budat FROM dwd.dwd_fi_voucher_header
)

SELECT
    -- keys
    i.bukrs,
    i.belnr,
    i.gjahr,
    i.buzei,
    -- classification
    i.bschl,
    i.koart,
    i.umskz,
    i.shkzg,
    -- amounts: SHKZG S (debit) +, H (credit) -
    i.dmbtr,
    i.wrbtr,
    signed_amount(i.dmbtr, i.shkzg) AS amount_lc,
    signed_amount(i.wrbtr, i.shkzg) AS amount_dc,
    -- account assignment
    i.hkont,
    nullif(i.kunnr, '') AS kunnr,
    nullif(i.lifnr, '') AS lifnr,
    i.sgtxt,
    i.zuonr,
    i.prctr,
    nullif(i.kostl, '') AS kostl,
    -- terms and clearing
    i.zfbdt,
    i.zterm,
    i.zbd1t,
    i.zbd2t,
    i.zbd3t,
    nullif(i.rebzg, '') AS rebzg,
    i.augdt,
    nullif(i.augbl, '') AS augbl,
    -- header
    h.blart,
    h.bldat,
    h.budat,
    h.belnr IS NOT NULL AS has_header,
    i._batch_id,
    i._biz_date
FROM item AS i
LEFT JOIN header AS h ON h.bukrs = i.bukrs AND h.belnr = i.belnr AND h.gjahr = i.gjahr
