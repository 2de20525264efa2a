-- 会计凭证抬头: the latest version of each document, with its reversal link
WITH header AS (
    SELECT * FROM stg.stg_bkpf WHERE _is_latest
),

partner AS (
    -- a reversed document and its reversal point at each other through STBLG/STJAH
    SELECT bukrs, belnr, gjahr, budat, cpudt, cputm FROM header
)

SELECT
    h.bukrs,
    h.belnr,
    h.gjahr,
    h.blart,
    h.bldat,
    h.budat,
    h.monat,
    h.cpudt,
    h.cputm,
    h.usnam,
    h.tcode,
    h.xblnr,
    h.bktxt,
    h.waers,
    h.kursf,
    nullif(h.stblg, '') AS stblg,
    nullif(h.stjah, '') AS stjah,
    h.stblg <> '' AS is_reversal_pair,
    -- of the pair, the later entry is the reversal
    h.stblg <> '' AND (h.cpudt, h.cputm, h.belnr) > (p.cpudt, p.cputm, p.belnr) AS is_reversal,
    h.awtyp,
    h.awkey,
    h._batch_id,
    h._biz_date
FROM header AS h
LEFT JOIN partner AS p ON p.bukrs = h.bukrs AND p.belnr = h.stblg AND p.gjahr = h.stjah
