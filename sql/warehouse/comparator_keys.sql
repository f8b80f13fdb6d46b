-- The comparator keys statistics are computed for, one at a time.
SELECT DISTINCT comparator_id, variant, denominator_type
FROM comparator_values
ORDER BY comparator_id, variant, denominator_type
