-- Referential integrity of a new extract, one row per rule with its violation count; the
-- published_extract suite requires every count to be zero before the extract is swapped in.
SELECT 'comparator rows without a practice' AS rule, count(*) AS violations
FROM practice_comparators AS c LEFT JOIN practices AS p USING (practice_code)
WHERE p.practice_code IS NULL
UNION ALL
SELECT 'comparator rows without a definition', count(*)
FROM practice_comparators AS c
LEFT JOIN comparators AS d USING (comparator_id, variant, denominator_type)
WHERE d.comparator_id IS NULL
UNION ALL
SELECT 'duplicate practice comparator rows', count(*) FROM (
  SELECT practice_code, month, comparator_id, variant, denominator_type, period
  FROM practice_comparators GROUP BY ALL HAVING count(*) > 1)
UNION ALL
SELECT 'duplicate organisation comparator rows', count(*) FROM (
  SELECT org_level, org_code, month, comparator_id, variant, denominator_type, period
  FROM organisation_comparators GROUP BY ALL HAVING count(*) > 1)
UNION ALL
SELECT 'infinite or NaN values', count(*) FROM practice_comparators
WHERE isinf(value) OR isnan(value)
UNION ALL
SELECT 'values without a positive denominator', count(*) FROM practice_comparators
WHERE value IS NOT NULL AND NOT denominator > 0
UNION ALL
SELECT 'breakdown rows without a practice', count(*)
FROM presentation_breakdown AS b LEFT JOIN practices AS p USING (practice_code)
WHERE p.practice_code IS NULL
UNION ALL
SELECT 'breakdown rows without a presentation', count(*)
FROM presentation_breakdown AS b
LEFT JOIN opioid_presentations AS o USING (bnf_code, bnf_name)
WHERE o.bnf_code IS NULL
UNION ALL
SELECT 'practices with no comparator rows', count(*)
FROM practices AS p LEFT JOIN (SELECT DISTINCT practice_code FROM practice_comparators) AS c
  USING (practice_code)
WHERE c.practice_code IS NULL
UNION ALL
SELECT 'deciles without a definition', count(*)
FROM national_deciles AS n
LEFT JOIN comparators AS d USING (comparator_id, variant, denominator_type)
WHERE d.comparator_id IS NULL
