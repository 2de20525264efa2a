-- 科目维度: one row per G/L account with its Chinese and English names and its class
WITH account_text AS (
    SELECT * FROM stg.stg_skat WHERE _is_latest
),

pivoted AS (
    SELECT
        ktopl,
        saknr,
        max(txt50) FILTER (WHERE spras = '1') AS account_name_zh,
        max(txt20) FILTER (WHERE spras = '1') AS short_name_zh,
        max(txt50) FILTER (WHERE spras = 'E') AS account_name_en
    FROM account_text
    GROUP BY ktopl, saknr
)

SELECT
    ktopl,
    saknr,
    account_name_zh,
    short_name_zh,
    account_name_en,
    CASE left(saknr, 4)
        WHEN '1122' THEN '应收账款'
        WHEN '1121' THEN '应收票据'
        WHEN '1123' THEN '预付账款'
        WHEN '1221' THEN '其他应收款'
        WHEN '2202' THEN '应付账款'
        WHEN '2201' THEN '应付票据'
        WHEN '2203' THEN '预收账款'
        WHEN '2241' THEN '其他应付款'
    END AS receivable_payable_class
FROM pivoted
