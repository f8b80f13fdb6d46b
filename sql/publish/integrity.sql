-- Referential integrity of the new extract; any row returned blocks the publication.
SELECT check_name, n FROM (
  SELECT 'practice_comparators without a practice' AS check_name, count(*) AS n
  FROM practice_comparators AS c LEFT JOIN practices AS p USING (practice_code)
  WHERE p.practice_code IS NULL
  UNION ALL
  SELECT 'practice_comparators without a definition', count(*)
  FROM practice_comparators AS c
  LEFT JOIN comparators AS d USING (comparator_id, variant, denominator_type)
  WHERE d.comparator_id IS NULL
  UNION ALL
  SELECT 'duplicate practice comparator rows', count(*) FROM (
    SELECT practice_code, month, comparator_id, variant, denominator_type, period
    FROM practice_comparators GROUP BY ALL HAVING count(*) > 1)
  UNION ALL
  SELECT 'infinite or NaN values', count(*) FROM practice_comparators
  WHERE isinf(value) OR isnan(value)
  UNION ALL
  SELECT 'breakdown rows without a practice', count(*)
  FROM presentation_breakdown AS b LEFT JOIN practices AS p USING (practice_code)
  WHERE p.practice_code IS NULL
  UNION ALL
  SELECT 'practices with no comparator rows', count(*)
  FROM practices AS p LEFT JOIN (SELECT DISTINCT practice_code FROM practice_comparators) AS c
    USING (practice_code)
  WHERE c.practice_code IS NULL
) WHERE n > 0
