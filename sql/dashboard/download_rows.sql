-- The per-organisation downloads of the dashboard, written in one pass: for every
-- organisation (and every practice) its practices in the latest month, every comparator
-- key, with the numbers the pages show. part_level and part_code only name the file.
COPY (
  WITH latest AS (
    SELECT max(month) AS month FROM practice_comparators
  ),
  members AS (
    SELECT 'england' AS org_level, 'ENG' AS org_code, practice_code FROM practices
    UNION ALL SELECT 'region', region_code, practice_code FROM practices
      WHERE region_code IS NOT NULL
    UNION ALL SELECT 'icb', icb_code, practice_code FROM practices WHERE icb_code IS NOT NULL
    UNION ALL SELECT 'sub_icb', sub_icb_code, practice_code FROM practices
      WHERE sub_icb_code IS NOT NULL
    UNION ALL SELECT 'pcn', pcn_code, practice_code FROM practices WHERE pcn_code IS NOT NULL
    UNION ALL SELECT 'practice', practice_code, practice_code FROM practices
  ),
  monthly_spc AS (
    SELECT practice_code, comparator_id, variant, denominator_type, spc_signal, spc_rules
    FROM practice_comparators
    WHERE month = (SELECT month FROM latest) AND period = '1m'
  )
  SELECT m.org_level AS part_level, m.org_code AS part_code, m.org_level, m.org_code,
    p.practice_code, p.practice_name, p.pcn_code, p.pcn_name, p.sub_icb_code, p.icb_code,
    c.month, c.comparator_id, d.title AS comparator_title, c.variant, c.denominator_type,
    c.period, d.units, c.numerator, c.denominator, c.value, c.list_size, c.small_practice,
    c.eligible, c.percentile_rank,
    CASE WHEN c.percentile_rank IS NOT NULL
      THEN least(10, CAST(floor(c.percentile_rank / 10) AS INTEGER) + 1) END AS national_decile,
    c.national_rate, c.funnel_flag, c.od_funnel_flag, c.funnel_upper_998, c.od_upper_998,
    s.spc_signal AS spc_signal_monthly, s.spc_rules AS spc_rules_monthly,
    c.value_12m_ago, c.change_abs, c.change_rel
  FROM members AS m
  JOIN practices AS p USING (practice_code)
  JOIN practice_comparators AS c USING (practice_code)
  JOIN comparators AS d USING (comparator_id, variant, denominator_type)
  LEFT JOIN monthly_spc AS s USING (practice_code, comparator_id, variant, denominator_type)
  WHERE c.month = (SELECT month FROM latest)
  ORDER BY m.org_level, m.org_code, d.sort_order, c.comparator_id, c.variant,
    c.denominator_type, CAST(rtrim(c.period, 'm') AS INTEGER), p.practice_code
) TO $path (FORMAT csv, HEADER true, PARTITION_BY (part_level, part_code))
