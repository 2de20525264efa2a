-- 公司维度: company codes from T001 with the organisation (机构) analysts are scoped to
WITH company AS (
    SELECT * FROM stg.stg_t001 WHERE _is_latest
),

organisation AS (
    SELECT co.bukrs, co.org_code, o.org_name_zh, o.org_name_en
    FROM ref.company_organisation AS co
    JOIN ref.organisation AS o USING (org_code)
)

SELECT
    c.bukrs,
    c.butxt AS company_name,
    c.ort01 AS city,
    c.land1,
    c.waers,
    c.ktopl,
    o.org_code,
    o.org_name_zh,
    o.org_name_en
FROM company AS c
LEFT JOIN organisation AS o ON o.bukrs = c.bukrs
