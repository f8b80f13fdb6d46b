-- Builds the published extract inside a fresh DuckDB file, reading the warehouse attached
-- read-only as "wh". The file is then checked and swapped into place atomically.
CREATE TABLE comparators AS
SELECT DISTINCT comparator_id, variant, denominator_type, title, units, direction, kind, scale,
  high_dose_threshold_mg, plausible_min, plausible_max, sort_order
FROM wh.comparator_definitions
ORDER BY sort_order, comparator_id, variant, denominator_type;

CREATE TABLE practices AS
WITH latest AS (
  SELECT practice_code, arg_max(patients, month) AS latest_patients,
    arg_max(adults, month) AS latest_adults, max(month) AS latest_list_size_month
  FROM wh.list_sizes GROUP BY practice_code
),
prescribing AS (
  SELECT DISTINCT practice_code FROM wh.practice_comparator_months
)
SELECT o.practice_code, o.practice_name, o.postcode, o.pcn_code, o.pcn_name, o.sub_icb_code,
  o.sub_icb_name, o.icb_code, o.icb_name, o.region_code, o.region_name,
  o.prescribing_setting, o.status_code, o.open_date, o.close_date, o.mapping_source,
  l.latest_patients, l.latest_adults, l.latest_list_size_month
FROM wh.organisations AS o
JOIN prescribing AS p USING (practice_code)
LEFT JOIN latest AS l USING (practice_code)
WHERE o.prescribing_setting = 4
ORDER BY o.practice_code;

CREATE TABLE practice_comparators AS
SELECT s.org_code AS practice_code, s.* EXCLUDE (org_level, org_code)
FROM wh.practice_statistics AS s
ORDER BY practice_code, comparator_id, variant, denominator_type, period, month;

CREATE TABLE organisation_comparators AS
SELECT s.* FROM wh.organisation_statistics AS s
ORDER BY org_level, org_code, comparator_id, variant, denominator_type, period, month;

CREATE TABLE national_deciles AS
SELECT * FROM wh.national_deciles
ORDER BY comparator_id, variant, denominator_type, period, month, percentile;

CREATE TABLE organisation_deciles AS
SELECT * FROM wh.organisation_deciles
ORDER BY org_level, comparator_id, variant, denominator_type, period, month, percentile;

CREATE TABLE funnel_curves AS
SELECT * FROM wh.funnel_curves
ORDER BY comparator_id, variant, denominator_type, period, month, n;

CREATE TABLE presentation_breakdown AS
SELECT f.practice_code, f.month, f.bnf_code, f.bnf_name, f.chemical_code, f.substance,
  p.route, p.form, f.items, f.total_quantity, f.max_quantity, p.ome_mg_per_unit, f.ome_mg,
  f.ome_mg / f.days_in_month AS ome_mg_per_day, f.in_scope, f.non_cancer_scope, f.strong,
  f.regular_long_acting, f.patch, f.likely_daily_ome_mg, f.resolved, f.implausible_quantity
FROM wh.presentation_facts AS f
JOIN wh.presentations AS p
  ON p.month = f.month AND p.bnf_code = f.bnf_code AND p.bnf_name IS NOT DISTINCT FROM f.bnf_name
WHERE f.practice_code IN (SELECT practice_code FROM practices)
ORDER BY f.practice_code, f.month, f.ome_mg DESC NULLS LAST, f.items DESC, f.bnf_code;

CREATE TABLE opioid_presentations AS
SELECT * EXCLUDE (month) FROM (
  SELECT *, row_number() OVER (PARTITION BY bnf_code, bnf_name ORDER BY month DESC) AS rn
  FROM wh.presentations
) WHERE rn = 1
ORDER BY bnf_code, bnf_name;
ALTER TABLE opioid_presentations DROP COLUMN rn;

CREATE TABLE unresolved_presentations AS
SELECT p.month, p.bnf_code, p.bnf_name, p.chemical_code, p.substance, p.note,
  SUM(r.items) AS items, COUNT(DISTINCT r.practice_code) AS practices
FROM wh.presentations AS p
JOIN wh.epd_opioid_rows AS r
  ON r.month = p.month AND r.bnf_code = p.bnf_code AND r.bnf_name IS NOT DISTINCT FROM p.bnf_name
WHERE p.in_scope AND NOT p.resolved
GROUP BY ALL
ORDER BY p.month, items DESC;
