-- Each organisation's monthly series for every comparator key, as one JSON object per
-- organisation: {key: {m: month positions, v: values, n: numerators, d: denominators,
-- r: percentile rank among organisations of the level}}.
WITH months AS (
  SELECT month, row_number() OVER (ORDER BY month) - 1 AS i
  FROM (SELECT DISTINCT month FROM practice_comparators)
),
per_key AS (
  SELECT o.org_level, o.org_code,
    concat_ws('.', o.comparator_id, o.variant, o.denominator_type, o.period) AS key,
    json_object(
      'm', list(m.i ORDER BY m.i),
      'v', list(round(o.value, 4) ORDER BY m.i),
      'n', list(round(o.numerator, 2) ORDER BY m.i),
      'd', list(CAST(round(o.denominator) AS BIGINT) ORDER BY m.i),
      'r', list(round(o.percentile_rank, 1) ORDER BY m.i)
    ) AS series
  FROM organisation_comparators AS o
  JOIN months AS m USING (month)
  GROUP BY ALL
)
SELECT org_level, org_code, json_group_object(key, series) AS series
FROM per_key
GROUP BY org_level, org_code
ORDER BY org_level, org_code
