-- The values of every organisation and comparator key in the cross-sections being
-- rewritten (stat_target), into the temporary table cell_values: the practices' own
-- monthly numerators and denominators, their roll-ups to PCN, sub-ICB location, ICB,
-- region and England, and the 3- and 12-month windows over both. Organisation values and
-- windows are sums of numerators over sums of denominators, never means of rates; sums
-- are exact decimals, so they do not depend on the order threads add them in. A window's
-- value is given only when every month of it is present (months_in_window says how many).
CREATE OR REPLACE TEMP TABLE cell_values AS
WITH practice_months AS (
  SELECT o.org_id, o.pcn_id, o.sub_icb_id, o.icb_id, o.region_id, k.key_id, x.month,
    x.numerator, x.denominator, l.patients AS list_size
  FROM practice_comparator_months AS x
  JOIN stat_orgs AS o ON o.org_level = 'practice' AND o.org_code = x.practice_code
  JOIN stat_keys AS k USING (comparator_id, variant, denominator_type)
  LEFT JOIN list_sizes AS l ON l.practice_code = x.practice_code AND l.month = x.month
  WHERE x.month >= (SELECT min(month) FROM stat_target) - INTERVAL 11 MONTH
    AND x.month <= (SELECT max(month) FROM stat_target)
),
-- Practices sharing all four parents summed first, so each level sums far fewer rows.
branches AS (
  SELECT pcn_id, sub_icb_id, icb_id, region_id, key_id, month,
    sum(numerator) AS numerator, sum(denominator) AS denominator
  FROM practice_months WHERE denominator IS NOT NULL
  GROUP BY ALL
),
monthly AS (
  SELECT 'practice' AS org_level, org_id, key_id, month, numerator, denominator, list_size
  FROM practice_months
  UNION ALL
  SELECT 'pcn', pcn_id, key_id, month, sum(numerator), sum(denominator), NULL
  FROM branches WHERE pcn_id IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'sub_icb', sub_icb_id, key_id, month, sum(numerator), sum(denominator), NULL
  FROM branches WHERE sub_icb_id IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'icb', icb_id, key_id, month, sum(numerator), sum(denominator), NULL
  FROM branches WHERE icb_id IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'region', region_id, key_id, month, sum(numerator), sum(denominator), NULL
  FROM branches WHERE region_id IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'england', (SELECT org_id FROM stat_orgs WHERE org_level = 'england'), key_id, month,
    sum(numerator), sum(denominator), NULL
  FROM branches GROUP BY ALL
),
framed AS (
  SELECT m.*,
    sum(numerator) OVER w3 AS numerator_3m,
    sum(denominator) OVER w3 AS denominator_3m,
    count(denominator) OVER w3 AS months_3m,
    sum(numerator) OVER w12 AS numerator_12m,
    sum(denominator) OVER w12 AS denominator_12m,
    count(denominator) OVER w12 AS months_12m
  FROM (SELECT *, year(month) * 12 + month(month) AS month_index FROM monthly) AS m
  WINDOW
    w3 AS (PARTITION BY org_id, key_id ORDER BY month_index
           RANGE BETWEEN 2 PRECEDING AND CURRENT ROW),
    w12 AS (PARTITION BY org_id, key_id ORDER BY month_index
            RANGE BETWEEN 11 PRECEDING AND CURRENT ROW)
),
windows AS (
  SELECT org_level, org_id, key_id, 1::UTINYINT AS window_months, month, numerator,
    denominator, CASE WHEN denominator IS NOT NULL THEN 1 ELSE 0 END AS months_in_window,
    list_size
  FROM framed
  UNION ALL
  SELECT org_level, org_id, key_id, 3, month, numerator_3m, denominator_3m, months_3m, list_size
  FROM framed
  UNION ALL
  SELECT org_level, org_id, key_id, 12, month, numerator_12m, denominator_12m, months_12m,
    list_size
  FROM framed
)
SELECT w.org_level, w.org_id, w.key_id, w.window_months, w.month,
  w.numerator::DOUBLE AS numerator, w.denominator::DOUBLE AS denominator,
  w.months_in_window::BIGINT AS months_in_window,
  CASE WHEN w.months_in_window = w.window_months AND w.denominator > 0
       THEN k.scale * w.numerator::DOUBLE / w.denominator::DOUBLE END AS value,
  w.list_size
FROM windows AS w
SEMI JOIN stat_target AS t ON t.window_months = w.window_months AND t.month = w.month
JOIN stat_keys AS k USING (key_id)
