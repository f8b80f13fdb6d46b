-- Practices above the upper 99.8% funnel limit in the latest month, for one comparator,
-- with the plain and the over-dispersion adjusted limits side by side. The adjusted flag
-- is the one to act on: prescribing varies between practices far more than chance alone
-- explains, so the plain limits flag many practices that are merely busy or different.
-- Parameters: $comparator_id (e.g. 'opioid_ome_daily'), $variant ('standard', '90mg',
-- '120mg'), $denominator_type ('patients', 'adults', 'long_acting_items'), $period ('1m',
-- '3m', '12m').
SELECT
  c.practice_code,
  p.practice_name,
  p.pcn_name,
  p.icb_code,
  c.month,
  c.numerator,
  c.denominator,
  round(c.value, 2) AS value,
  round(c.national_rate, 2) AS national_rate,
  round(c.funnel_upper_998, 2) AS plain_upper_998,
  c.funnel_flag = 'high' AS above_plain,
  round(c.od_upper_998, 2) AS adjusted_upper_998,
  c.od_funnel_flag = 'high' AS above_adjusted,
  round(c.z_score, 1) AS z_score,
  round(c.percentile_rank, 1) AS percentile_rank
FROM latest_practice_comparators AS c
JOIN practices AS p USING (practice_code)
WHERE c.comparator_id = $comparator_id
  AND c.variant = $variant
  AND c.denominator_type = $denominator_type
  AND c.period = $period
  AND (c.funnel_flag = 'high' OR c.od_funnel_flag = 'high')
ORDER BY above_adjusted DESC, c.z_score DESC, c.practice_code;
