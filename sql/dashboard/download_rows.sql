-- The rows behind the dashboard's per-organisation downloads: every practice in the
-- latest month, every comparator key, with the numbers the pages show. One row per
-- practice and key; each organisation's file is its members' rows (grouped on the
-- practice's region_code, icb_code, sub_icb_code, pcn_code or practice_code), so the
-- rows are read once rather than once per level. Ordered by region, ICB, sub-ICB
-- location, PCN and practice, then as the pages list the comparators: so each
-- organisation's rows are usually one run, and each file lists practice by practice.
WITH latest AS (
  SELECT max(month) AS month FROM practice_comparators
),
monthly_spc AS (
  SELECT practice_code, comparator_id, variant, denominator_type, spc_signal, spc_rules
  FROM practice_comparators
  WHERE month = (SELECT month FROM latest) AND period = '1m'
)
SELECT p.region_code,
  p.practice_code, p.practice_name, p.pcn_code, p.pcn_name, p.sub_icb_code, p.icb_code,
  c.month, c.comparator_id, d.title AS comparator_title, c.variant, c.denominator_type,
  c.period, d.units, c.numerator, c.denominator, c.value, c.list_size, c.small_practice,
  c.eligible, c.percentile_rank,
  CASE WHEN c.percentile_rank IS NOT NULL
    THEN least(10, CAST(floor(c.percentile_rank / 10) AS INTEGER) + 1) END AS national_decile,
  c.national_rate, c.funnel_flag, c.od_funnel_flag, c.funnel_upper_998, c.od_upper_998,
  s.spc_signal AS spc_signal_monthly, s.spc_rules AS spc_rules_monthly,
  c.value_12m_ago, c.change_abs, c.change_rel
FROM practices AS p
JOIN practice_comparators AS c USING (practice_code)
JOIN comparators AS d USING (comparator_id, variant, denominator_type)
LEFT JOIN monthly_spc AS s USING (practice_code, comparator_id, variant, denominator_type)
WHERE c.month = (SELECT month FROM latest)
ORDER BY p.region_code, p.icb_code, p.sub_icb_code, p.pcn_code, p.practice_code,
  d.sort_order, c.comparator_id, c.variant, c.denominator_type,
  CAST(rtrim(c.period, 'm') AS INTEGER)
