-- The export's one tidy table: every practice of one organisation ($level, $org), every
-- comparator, variant, denominator and period, for the months $first_month..$last_month,
-- with the national context of the same month and key (deciles, national rate, funnel
-- limits and flags, percentile rank, SPC signal) and the organisation's own value.
WITH members AS (
  SELECT practice_code, practice_name, pcn_code, pcn_name, sub_icb_code, sub_icb_name,
    icb_code, icb_name
  FROM practices
  WHERE CASE $level WHEN 'icb' THEN icb_code WHEN 'sub_icb' THEN sub_icb_code
      WHEN 'pcn' THEN pcn_code WHEN 'practice' THEN practice_code END = $org
),
own AS (
  SELECT month, comparator_id, variant, denominator_type, period, value AS org_value
  FROM organisation_comparators
  WHERE org_level = $level AND org_code = $org
  UNION ALL
  SELECT month, comparator_id, variant, denominator_type, period, value
  FROM practice_comparators
  WHERE $level = 'practice' AND practice_code = $org
),
england AS (
  SELECT month, comparator_id, variant, denominator_type, period, value AS england_value
  FROM organisation_comparators
  WHERE org_level = 'england'
)
SELECT
  $level AS org_level, $org AS org_code,
  m.practice_code, m.practice_name, m.pcn_code, m.pcn_name, m.sub_icb_code, m.sub_icb_name,
  m.icb_code, m.icb_name,
  c.month, c.comparator_id, d.title AS comparator_title, c.variant, c.denominator_type,
  c.period, d.units, c.numerator, c.denominator, c.value, c.list_size, c.small_practice,
  c.percentile_rank, c.funnel_flag, c.od_funnel_flag, c.funnel_lower_998,
  c.funnel_upper_998, c.od_lower_998, c.od_upper_998, c.national_rate,
  n.p10 AS national_p10, n.p20 AS national_p20, n.p30 AS national_p30,
  n.p40 AS national_p40, n.p50 AS national_p50, n.p60 AS national_p60,
  n.p70 AS national_p70, n.p80 AS national_p80, n.p90 AS national_p90,
  c.spc_signal, c.spc_rules, c.value_12m_ago, c.change_abs, c.change_rel,
  o.org_value, e.england_value
FROM practice_comparators AS c
JOIN members AS m USING (practice_code)
JOIN comparators AS d USING (comparator_id, variant, denominator_type)
LEFT JOIN national_deciles_wide AS n
  USING (month, comparator_id, variant, denominator_type, period)
LEFT JOIN own AS o USING (month, comparator_id, variant, denominator_type, period)
LEFT JOIN england AS e USING (month, comparator_id, variant, denominator_type, period)
WHERE c.month BETWEEN $first_month AND $last_month
ORDER BY d.sort_order, c.comparator_id, m.practice_code, c.variant, c.denominator_type,
  CAST(rtrim(c.period, 'm') AS INTEGER), c.month
