-- 往来项目与账龄规则 Item and aging rules — the one place they are defined.
--
--   net_due_date     baseline + ZBD3T if > 0, else + ZBD2T if > 0, else + ZBD1T; a credit memo
--                    without invoice reference (REBZG blank) is due on the baseline date
--   is_open_at       posted on or before the key date and not cleared by it (AUGDT > key date)
--   aging buckets    due basis: days past the net due date; posting basis: whole calendar years
--                    back from the key date — 1年以内 = posted on or after the same calendar day one
--                    year before (29 Feb falls back to 28 Feb), 1-2年 = on or after that day two
--                    years before, 2-3年 likewise, 3年以上 otherwise

CREATE OR REPLACE MACRO net_due_date(baseline, zbd1t, zbd2t, zbd3t, credit_memo_without_reference) AS
    CASE WHEN credit_memo_without_reference THEN baseline
         WHEN zbd3t > 0 THEN baseline + zbd3t
         WHEN zbd2t > 0 THEN baseline + zbd2t
         ELSE baseline + zbd1t END;

CREATE OR REPLACE MACRO is_open_at(budat, augdt, key_date) AS
    budat <= key_date AND (augdt IS NULL OR augdt > key_date);

-- a missing date has no bucket (never the oldest one): such items are quarantined before aging
CREATE OR REPLACE MACRO aging_bucket_due(net_due, key_date) AS
    CASE WHEN net_due IS NULL THEN NULL
         WHEN date_diff('day', net_due, key_date) <= 0 THEN '未到期'
         WHEN date_diff('day', net_due, key_date) <= 30 THEN '1-30'
         WHEN date_diff('day', net_due, key_date) <= 60 THEN '31-60'
         WHEN date_diff('day', net_due, key_date) <= 90 THEN '61-90'
         WHEN date_diff('day', net_due, key_date) <= 180 THEN '91-180'
         WHEN date_diff('day', net_due, key_date) <= 365 THEN '181-365'
         ELSE '365+' END;

-- DuckDB's DATE - INTERVAL n YEAR clamps 29 Feb to 28 Feb in a common year
CREATE OR REPLACE MACRO aging_bucket_posting(budat, key_date) AS
    CASE WHEN budat IS NULL THEN NULL
         WHEN budat >= CAST(key_date - INTERVAL 1 YEAR AS DATE) THEN '1年以内'
         WHEN budat >= CAST(key_date - INTERVAL 2 YEAR AS DATE) THEN '1-2年'
         WHEN budat >= CAST(key_date - INTERVAL 3 YEAR AS DATE) THEN '2-3年'
         ELSE '3年以上' END;

CREATE OR REPLACE MACRO aging_bucket(basis, budat, net_due, key_date) AS
    CASE basis WHEN 'due' THEN aging_bucket_due(net_due, key_date)
               WHEN 'posting' THEN aging_bucket_posting(budat, key_date) END;

CREATE OR REPLACE MACRO aging_bucket_order(bucket) AS
    list_position(['未到期', '1-30', '31-60', '61-90', '91-180', '181-365', '365+',
                   '1年以内', '1-2年', '2-3年', '3年以上'], bucket);
