-- The month's highest opioid-burden practices, as a preview in the run's metadata.
SELECT practice_code, comparator_id, denominator_type, numerator, denominator,
  ROUND(1000 * numerator / NULLIF(denominator, 0), 2) AS per_1000
FROM practice_comparator_months
WHERE month = $month AND comparator_id = 'opioid_ome_daily' AND denominator_type = 'patients'
ORDER BY per_1000 DESC NULLS LAST, practice_code
LIMIT 10
