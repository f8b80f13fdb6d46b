-- The headline comparator keys, in the order PIVOT lays out their columns (by id).
SELECT comparator_id, variant, denominator_type, title, units, kind
FROM headline_comparators
ORDER BY comparator_id
