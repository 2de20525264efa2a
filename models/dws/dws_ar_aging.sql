-- 应收账龄月末快照: open ordinary items at each month-end covered by the deliveries, both bases
WITH delivered AS (
    -- the business dates the deliveries cover (BSEG arrives every day)
    SELECT min(_biz_date) AS first_biz_date, max(_biz_date) AS last_biz_date FROM dwd.dwd_fi_voucher_item
),

key_dates AS (
    -- every month-end inside the delivered range
    SELECT DISTINCT last_day(CAST(d AS DATE)) AS key_date
    FROM delivered, unnest(generate_series(first_biz_date, last_biz_date, INTERVAL 1 DAY)) AS t(d)
    WHERE last_day(CAST(d AS DATE)) <= last_biz_date
),

open_items AS (
    SELECT k.key_date, i.*
    FROM dwd.dwd_ar_item AS i
    JOIN key_dates AS k ON is_open_at(i.budat, i.augdt, k.key_date)
    WHERE NOT i.is_special_gl
),

bases AS (
    SELECT unnest(['due', 'posting']) AS basis
)

SELECT
    o.key_date,
    b.basis,
    o.bukrs,
    o.kunnr,
    aging_bucket(b.basis, o.budat, o.net_due_date, o.key_date) AS bucket,
    sum(o.amount_lc) AS amount_lc,
    count(*) AS item_count
FROM open_items AS o
CROSS JOIN bases AS b
GROUP BY ALL
