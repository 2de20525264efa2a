-- 客户维度: one row per customer (KNA1)
SELECT
    kunnr,
    name1 AS customer_name,
    ort01 AS city,
    land1,
    stcd5 AS credit_code,
    ktokd AS account_group,
    erdat AS created_on,
    loevm AS is_deleted
FROM stg.stg_kna1
WHERE _is_latest
