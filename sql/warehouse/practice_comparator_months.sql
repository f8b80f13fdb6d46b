-- Every comparator for every GP practice in one month, driven by comparator_definitions:
-- each definition row names a measure and the presentation flags it requires, so this one
-- statement serves every comparator file. Practices with a list size but no opioid rows
-- get numerator 0; practices that prescribed but have no list size get a null denominator.
-- Each row's contribution is rounded to 6 decimals (micrograms) and summed exactly.
INSERT INTO practice_comparator_months
WITH gp AS (
  SELECT practice_code FROM organisations WHERE prescribing_setting = 4
),
facts AS (
  SELECT * FROM presentation_facts WHERE month = $month
),
population AS (
  SELECT gp.practice_code, l.patients, l.adults
  FROM gp
  LEFT JOIN list_sizes AS l ON l.practice_code = gp.practice_code AND l.month = $month
  WHERE l.practice_code IS NOT NULL
     OR gp.practice_code IN (SELECT practice_code FROM facts)
)
SELECT
  $month::DATE AS month,
  p.practice_code,
  d.comparator_id,
  d.variant,
  d.denominator_type,
  COALESCE(SUM(CASE WHEN d.num_measure = 'items' THEN f.items ELSE f.ome_mg / f.days_in_month END
      ::DECIMAL(38, 6))
    FILTER (WHERE (NOT d.num_in_scope OR f.in_scope)
              AND (NOT d.num_non_cancer_scope OR f.non_cancer_scope)
              AND (NOT d.num_strong OR f.strong)
              AND (NOT d.num_regular_long_acting OR f.regular_long_acting)
              AND (NOT d.num_patch OR f.patch)
              AND (NOT d.num_high_dose OR f.likely_daily_ome_mg >= d.high_dose_threshold_mg)), 0)
    AS numerator,
  CASE d.den_population
    WHEN 'patients' THEN ANY_VALUE(p.patients)
    WHEN 'adults' THEN ANY_VALUE(p.adults)
    ELSE COALESCE(SUM(CASE WHEN d.den_measure = 'items' THEN f.items ELSE f.ome_mg / f.days_in_month END
        ::DECIMAL(38, 6))
      FILTER (WHERE (NOT d.den_in_scope OR f.in_scope)
                AND (NOT d.den_non_cancer_scope OR f.non_cancer_scope)
                AND (NOT d.den_strong OR f.strong)
                AND (NOT d.den_regular_long_acting OR f.regular_long_acting)
                AND (NOT d.den_patch OR f.patch)
                AND (NOT d.den_high_dose OR f.likely_daily_ome_mg >= d.high_dose_threshold_mg)), 0)
  END AS denominator
FROM population AS p
CROSS JOIN comparator_definitions AS d
LEFT JOIN facts AS f ON f.practice_code = p.practice_code
GROUP BY p.practice_code, d.comparator_id, d.variant, d.denominator_type, d.den_population,
  d.den_measure, d.num_measure
