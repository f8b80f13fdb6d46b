-- One practice against its PCN, sub-ICB location, ICB and England in the latest month,
-- for every comparator's headline variant and denominator: the practice's value, rank and
-- flags beside its organisations' values and the national deciles. The SPC signal is the
-- latest month's reading of the practice's monthly series (SPC is only run on 1m values).
-- Parameters: $practice_code (e.g. 'B81208'), $period ('1m', '3m' or '12m').
WITH practice AS (
  SELECT practice_code, pcn_code, sub_icb_code, icb_code
  FROM practices WHERE practice_code = $practice_code
),
latest AS (
  SELECT max(month) AS month FROM practice_comparators
),
org AS (
  SELECT o.comparator_id, o.variant, o.denominator_type,
    max(o.value) FILTER (WHERE o.org_level = 'pcn') AS pcn,
    max(o.value) FILTER (WHERE o.org_level = 'sub_icb') AS sub_icb,
    max(o.value) FILTER (WHERE o.org_level = 'icb') AS icb,
    max(o.value) FILTER (WHERE o.org_level = 'england') AS england
  FROM organisation_comparators AS o, practice AS x, latest AS l
  WHERE o.month = l.month AND o.period = $period
    AND ((o.org_level = 'pcn' AND o.org_code = x.pcn_code)
      OR (o.org_level = 'sub_icb' AND o.org_code = x.sub_icb_code)
      OR (o.org_level = 'icb' AND o.org_code = x.icb_code)
      OR o.org_level = 'england')
  GROUP BY o.comparator_id, o.variant, o.denominator_type
)
SELECT
  h.comparator_id,
  h.title,
  h.units,
  round(c.value, 2) AS practice,
  round(c.percentile_rank, 1) AS percentile_rank,
  c.funnel_flag,
  c.od_funnel_flag,
  s.spc_signal,
  round(o.pcn, 2) AS pcn,
  round(o.sub_icb, 2) AS sub_icb,
  round(o.icb, 2) AS icb,
  round(o.england, 2) AS england,
  round(d.p10, 2) AS national_p10,
  round(d.p50, 2) AS national_p50,
  round(d.p90, 2) AS national_p90
FROM headline_comparators AS h
CROSS JOIN practice AS x
CROSS JOIN latest AS l
LEFT JOIN practice_comparators AS c
  ON c.practice_code = x.practice_code AND c.month = l.month AND c.period = $period
  AND c.comparator_id = h.comparator_id AND c.variant = h.variant
  AND c.denominator_type = h.denominator_type
LEFT JOIN practice_comparators AS s
  ON s.practice_code = x.practice_code AND s.month = l.month AND s.period = '1m'
  AND s.comparator_id = h.comparator_id AND s.variant = h.variant
  AND s.denominator_type = h.denominator_type
LEFT JOIN org AS o
  ON o.comparator_id = h.comparator_id AND o.variant = h.variant
  AND o.denominator_type = h.denominator_type
LEFT JOIN national_deciles_wide AS d
  ON d.month = l.month AND d.period = $period AND d.comparator_id = h.comparator_id
  AND d.variant = h.variant AND d.denominator_type = h.denominator_type
ORDER BY h.sort_order;
