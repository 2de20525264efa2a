-- 账龄表宏 Aging at ANY key date, for analysts and `respool aging`: the open ordinary items at
-- the key date with their bucket. Created after the build, since they read dwd tables.
--   SELECT bukrs, bucket, sum(amount_lc) FROM ar_aging(DATE '2026-10-31', 'due') GROUP BY ALL;

CREATE OR REPLACE MACRO ar_aging(key_date, basis) AS TABLE
    SELECT
        key_date::DATE AS key_date,
        basis AS basis,
        bukrs, kunnr, gjahr, belnr, buzei, hkont, blart, budat, net_due_date,
        date_diff('day', net_due_date, key_date::DATE) AS days_past_due,
        date_diff('day', budat, key_date::DATE) AS days_since_posting,
        aging_bucket(basis, budat, net_due_date, key_date::DATE) AS bucket,
        amount_lc
    FROM dwd.dwd_ar_item
    WHERE NOT is_special_gl AND is_open_at(budat, augdt, key_date::DATE);

CREATE OR REPLACE MACRO ap_aging(key_date, basis) AS TABLE
    SELECT
        key_date::DATE AS key_date,
        basis AS basis,
        bukrs, lifnr, gjahr, belnr, buzei, hkont, blart, budat, net_due_date,
        date_diff('day', net_due_date, key_date::DATE) AS days_past_due,
        date_diff('day', budat, key_date::DATE) AS days_since_posting,
        aging_bucket(basis, budat, net_due_date, key_date::DATE) AS bucket,
        amount_lc
    FROM dwd.dwd_ap_item
    WHERE NOT is_special_gl AND is_open_at(budat, augdt, key_date::DATE);

-- special G/L items (down payments, ...) open at the key date, reported apart from the aging;
-- noted items (down payment requests) are no balance: they are listed apart again
CREATE OR REPLACE MACRO ar_special_gl(key_date) AS TABLE
    SELECT key_date::DATE AS key_date, bukrs, kunnr, umskz, gjahr, belnr, buzei, hkont, budat, amount_lc
    FROM dwd.dwd_ar_item
    WHERE is_special_gl AND NOT is_noted_item AND is_open_at(budat, augdt, key_date::DATE);

CREATE OR REPLACE MACRO ap_special_gl(key_date) AS TABLE
    SELECT key_date::DATE AS key_date, bukrs, lifnr, umskz, gjahr, belnr, buzei, hkont, budat, amount_lc
    FROM dwd.dwd_ap_item
    WHERE is_special_gl AND NOT is_noted_item AND is_open_at(budat, augdt, key_date::DATE);

CREATE OR REPLACE MACRO ar_noted_items(key_date) AS TABLE
    SELECT key_date::DATE AS key_date, bukrs, kunnr, umskz, gjahr, belnr, buzei, hkont, budat, net_due_date, amount_lc
    FROM dwd.dwd_ar_item
    WHERE is_noted_item AND is_open_at(budat, augdt, key_date::DATE);

CREATE OR REPLACE MACRO ap_noted_items(key_date) AS TABLE
    SELECT key_date::DATE AS key_date, bukrs, lifnr, umskz, gjahr, belnr, buzei, hkont, budat, net_due_date, amount_lc
    FROM dwd.dwd_ap_item
    WHERE is_noted_item AND is_open_at(budat, augdt, key_date::DATE);
