-- Practices below the minimum list size in the latest month (1,000 registered patients
-- by default): their values are published but they are not ranked or flagged, because a
-- handful of items moves their rate a long way. This shows their headline values and
-- where they would fall against the adjusted 99.8% limits (which are given for every
-- practice), so they can be reviewed by hand rather than ignored.
-- Parameters: $period ('1m', '3m' or '12m').
SELECT
  c.practice_code,
  p.practice_name,
  p.icb_code,
  c.list_size,
  c.comparator_id,
  c.numerator,
  round(c.value, 2) AS value,
  round(c.national_rate, 2) AS national_rate,
  round(c.od_lower_998, 2) AS adjusted_lower_998,
  round(c.od_upper_998, 2) AS adjusted_upper_998,
  CASE
    WHEN c.value > c.od_upper_998 THEN 'above'
    WHEN c.value < c.od_lower_998 THEN 'below'
    WHEN c.value IS NOT NULL AND c.od_upper_998 IS NOT NULL THEN 'within'
  END AS against_adjusted_limits,
  c.percentile_rank,
  c.od_funnel_flag
FROM latest_practice_comparators AS c
JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type)
JOIN practices AS p USING (practice_code)
WHERE c.small_practice AND c.period = $period
ORDER BY c.practice_code, h.sort_order;
