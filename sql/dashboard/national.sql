-- National context per comparator key, one JSON object each: the nine deciles of every
-- month (aligned with months.sql; null where no practice was eligible), and the funnel
-- limits and national rate of the latest month.
WITH months AS (
  SELECT month, row_number() OVER (ORDER BY month) - 1 AS i
  FROM (SELECT DISTINCT month FROM practice_comparators)
),
latest AS (
  SELECT max(month) AS month FROM practice_comparators
),
keys AS (
  SELECT DISTINCT comparator_id, variant, denominator_type, period FROM national_deciles
),
grid AS (
  SELECT k.*, m.month, m.i, d.p10, d.p20, d.p30, d.p40, d.p50, d.p60, d.p70, d.p80, d.p90,
    d.n_practices
  FROM keys AS k CROSS JOIN months AS m
  LEFT JOIN national_deciles_wide AS d
    USING (comparator_id, variant, denominator_type, period, month)
),
deciles AS (
  SELECT comparator_id, variant, denominator_type, period,
    json_object(
      'p10', list(round(p10, 3) ORDER BY i), 'p20', list(round(p20, 3) ORDER BY i),
      'p30', list(round(p30, 3) ORDER BY i), 'p40', list(round(p40, 3) ORDER BY i),
      'p50', list(round(p50, 3) ORDER BY i), 'p60', list(round(p60, 3) ORDER BY i),
      'p70', list(round(p70, 3) ORDER BY i), 'p80', list(round(p80, 3) ORDER BY i),
      'p90', list(round(p90, 3) ORDER BY i), 'n', list(n_practices ORDER BY i)
    ) AS deciles
  FROM grid GROUP BY ALL
),
rate AS (
  SELECT comparator_id, variant, denominator_type, period,
    round(any_value(national_rate), 4) AS national_rate
  FROM practice_comparators
  WHERE month = (SELECT month FROM latest) AND national_rate IS NOT NULL
  GROUP BY ALL
),
funnel AS (
  SELECT comparator_id, variant, denominator_type, period,
    json_object(
      'n', list(round(n, 1) ORDER BY n),
      'l95', list(round(funnel_lower_95, 4) ORDER BY n),
      'u95', list(round(funnel_upper_95, 4) ORDER BY n),
      'l998', list(round(funnel_lower_998, 4) ORDER BY n),
      'u998', list(round(funnel_upper_998, 4) ORDER BY n),
      'ol95', list(round(od_lower_95, 4) ORDER BY n),
      'ou95', list(round(od_upper_95, 4) ORDER BY n),
      'ol998', list(round(od_lower_998, 4) ORDER BY n),
      'ou998', list(round(od_upper_998, 4) ORDER BY n)
    ) AS funnel
  FROM funnel_curves
  WHERE month = (SELECT month FROM latest)
  GROUP BY ALL
)
SELECT concat_ws('.', k.comparator_id, k.variant, k.denominator_type, k.period) AS key,
  json_object('deciles', d.deciles, 'funnel', f.funnel, 'rate', r.national_rate) AS data
FROM keys AS k
LEFT JOIN deciles AS d USING (comparator_id, variant, denominator_type, period)
LEFT JOIN funnel AS f USING (comparator_id, variant, denominator_type, period)
LEFT JOIN rate AS r USING (comparator_id, variant, denominator_type, period)
ORDER BY key
