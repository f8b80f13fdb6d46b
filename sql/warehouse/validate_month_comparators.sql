-- The month's comparator rows as the practice_opioid_comparators suite sees them, read
-- inside the write transaction so a failing month can be rolled back.
SELECT c.practice_code, c.comparator_id, c.variant, c.denominator_type,
  c.numerator::DOUBLE AS numerator, c.denominator::DOUBLE AS denominator,
  CASE WHEN c.denominator > 0 THEN d.scale * c.numerator::DOUBLE / c.denominator::DOUBLE END AS value,
  d.plausible_min, d.plausible_max
FROM practice_comparator_months AS c
JOIN comparator_definitions AS d USING (comparator_id, variant, denominator_type)
WHERE c.month = $month
ORDER BY c.practice_code, c.comparator_id, c.variant, c.denominator_type
