-- Every comparator at every organisation level and rolling window, from the practices'
-- monthly numerators and denominators. Organisation values and windows are sums of
-- numerators over sums of denominators, never means of rates. A window's value is given
-- only when every month of it is present (months_in_window says how many were).
CREATE OR REPLACE TABLE comparator_values AS
WITH practice_months AS (
  SELECT x.*, o.pcn_code, o.sub_icb_code, o.icb_code, o.region_code
  FROM practice_comparator_months AS x
  LEFT JOIN organisations AS o USING (practice_code)
),
counted AS (
  SELECT * FROM practice_months WHERE denominator IS NOT NULL
),
monthly AS (
  SELECT 'practice' AS org_level, practice_code AS org_code, month, comparator_id, variant,
    denominator_type, numerator, denominator
  FROM practice_months
  UNION ALL
  SELECT 'pcn', pcn_code, month, comparator_id, variant, denominator_type, SUM(numerator), SUM(denominator)
  FROM counted WHERE pcn_code IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'sub_icb', sub_icb_code, month, comparator_id, variant, denominator_type, SUM(numerator), SUM(denominator)
  FROM counted WHERE sub_icb_code IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'icb', icb_code, month, comparator_id, variant, denominator_type, SUM(numerator), SUM(denominator)
  FROM counted WHERE icb_code IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'region', region_code, month, comparator_id, variant, denominator_type, SUM(numerator), SUM(denominator)
  FROM counted WHERE region_code IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'england', 'ENG', month, comparator_id, variant, denominator_type, SUM(numerator), SUM(denominator)
  FROM counted GROUP BY ALL
),
framed AS (
  SELECT m.*,
    SUM(numerator) OVER w3 AS numerator_3m,
    SUM(denominator) OVER w3 AS denominator_3m,
    COUNT(denominator) OVER w3 AS months_3m,
    SUM(numerator) OVER w12 AS numerator_12m,
    SUM(denominator) OVER w12 AS denominator_12m,
    COUNT(denominator) OVER w12 AS months_12m
  FROM monthly AS m
  WINDOW
    w3 AS (PARTITION BY org_level, org_code, comparator_id, variant, denominator_type
           ORDER BY month RANGE BETWEEN INTERVAL 2 MONTH PRECEDING AND CURRENT ROW),
    w12 AS (PARTITION BY org_level, org_code, comparator_id, variant, denominator_type
            ORDER BY month RANGE BETWEEN INTERVAL 11 MONTH PRECEDING AND CURRENT ROW)
),
windows AS (
  SELECT org_level, org_code, month, comparator_id, variant, denominator_type, '1m' AS period,
    1 AS window_months, numerator, denominator,
    CASE WHEN denominator IS NOT NULL THEN 1 ELSE 0 END AS months_in_window
  FROM framed
  UNION ALL
  SELECT org_level, org_code, month, comparator_id, variant, denominator_type, '3m', 3,
    numerator_3m, denominator_3m, months_3m
  FROM framed
  UNION ALL
  SELECT org_level, org_code, month, comparator_id, variant, denominator_type, '12m', 12,
    numerator_12m, denominator_12m, months_12m
  FROM framed
)
SELECT
  w.org_level, w.org_code, w.month, w.comparator_id, w.variant, w.denominator_type, w.period,
  w.numerator::DOUBLE AS numerator, w.denominator::DOUBLE AS denominator, w.months_in_window,
  CASE WHEN w.months_in_window = w.window_months AND w.denominator > 0
       THEN d.scale * w.numerator::DOUBLE / w.denominator::DOUBLE END AS value,
  d.scale, d.kind, d.direction,
  CASE WHEN w.org_level = 'practice' THEN l.patients END AS list_size
FROM windows AS w
JOIN comparator_definitions AS d USING (comparator_id, variant, denominator_type)
LEFT JOIN list_sizes AS l
  ON w.org_level = 'practice' AND l.practice_code = w.org_code AND l.month = w.month
ORDER BY w.org_level, w.org_code, w.comparator_id, w.variant, w.denominator_type, w.period, w.month
