-- 营销-财务应收对账: YX billed amount per company and bill month against the ERP billing
-- postings (invoices 01 and credit memos 11) to 应收账款-电费 1122010000 in that month
WITH bill AS (
    SELECT * FROM stg.stg_a_rcvbl_flow WHERE _is_latest
),

quarantined AS (
    -- bills that could not be cleansed are missing on the YX side: show them beside the difference
    SELECT
        coalesce(su.bukrs, '未映射:' || q.org_no) AS bukrs,
        q.rcvbl_ym AS bill_month,
        count(*) AS yx_quarantined_bills,
        sum(q.rcvbl_amt) AS yx_quarantined_amount
    FROM stg.stg_a_rcvbl_flow AS q
    LEFT JOIN ref.supply_unit AS su ON su.org_no = q.org_no
    WHERE q._reject_reason IS NOT NULL
    GROUP BY ALL
),

yx AS (
    SELECT
        coalesce(su.bukrs, '未映射:' || b.org_no) AS bukrs,
        b.rcvbl_ym AS bill_month,
        sum(b.rcvbl_amt) AS yx_billed,
        count(*) AS yx_bills
    FROM bill AS b
    LEFT JOIN ref.supply_unit AS su ON su.org_no = b.org_no
    GROUP BY ALL
),

erp AS (
    SELECT
        bukrs,
        strftime(budat, '%Y%m') AS bill_month,
        sum(amount_lc) AS erp_posted,
        count(DISTINCT belnr) AS erp_documents
    FROM dwd.dwd_fi_voucher_item
    WHERE hkont = '1122010000' AND bschl IN ('01', '11') AND budat IS NOT NULL
    GROUP BY ALL
),

compared AS (
    SELECT
        bukrs,
        bill_month,
        coalesce(yx.yx_billed, 0) AS yx_billed,
        coalesce(erp.erp_posted, 0) AS erp_posted,
        coalesce(erp.erp_posted, 0) - coalesce(yx.yx_billed, 0) AS difference,
        coalesce(yx.yx_bills, 0) AS yx_bills,
        coalesce(erp.erp_documents, 0) AS erp_documents,
        coalesce(q.yx_quarantined_bills, 0) AS yx_quarantined_bills,
        coalesce(q.yx_quarantined_amount, 0) AS yx_quarantined_amount
    FROM yx
    FULL JOIN erp USING (bukrs, bill_month)
    LEFT JOIN quarantined AS q USING (bukrs, bill_month)
)

SELECT
    *,
    CASE
        WHEN starts_with(bukrs, '未映射') THEN '未映射供电单位 unmapped supply unit'
        WHEN abs(difference) <= coalesce(getvariable('recon_tolerance'), 0.01) THEN '一致 matched'
        WHEN yx_bills = 0 THEN 'YX无账单 no YX bills'
        WHEN erp_documents = 0 THEN 'ERP未入账 not posted in ERP'
        WHEN yx_quarantined_bills > 0 AND difference = yx_quarantined_amount
            THEN '差异=隔离账单 difference equals quarantined YX bills'
        ELSE '差异 difference'
    END AS status
FROM compared
