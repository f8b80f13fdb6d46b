-- National figures for one month, for the run's metadata.
SELECT
  COUNT(DISTINCT practice_code) AS practices,
  COUNT(DISTINCT practice_code) FILTER (WHERE denominator IS NULL AND denominator_type = 'patients')
    AS practices_without_list_size,
  COUNT(*) AS comparator_rows,
  SUM(numerator) FILTER (WHERE comparator_id = 'opioid_items' AND denominator_type = 'patients')
    AS opioid_items,
  SUM(numerator) FILTER (WHERE comparator_id = 'opioid_ome_daily' AND denominator_type = 'patients')
    AS ome_mg_per_day,
  SUM(numerator) FILTER (WHERE comparator_id = 'high_dose_items' AND variant = '90mg'
    AND denominator_type = 'patients') AS high_dose_items,
  (SELECT COUNT(*) FROM presentation_facts WHERE month = $month AND implausible_quantity)
    AS implausible_quantity_rows
FROM practice_comparator_months
WHERE month = $month
