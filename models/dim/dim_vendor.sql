-- 供应商维度: one row per vendor (LFA1)
SELECT
    lifnr,
    name1 AS vendor_name,
    ort01 AS city,
    land1,
    stcd5 AS credit_code,
    ktokk AS account_group,
    erdat AS created_on,
    loevm AS is_deleted
FROM stg.stg_lfa1
WHERE _is_latest
