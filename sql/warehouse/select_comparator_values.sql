-- One comparator key's values at every level and period, in a stable order (so the
-- statistics, which sum in row order, reproduce every digit on a re-run).
SELECT * FROM comparator_values
WHERE comparator_id = $comparator_id AND variant = $variant AND denominator_type = $denominator_type
ORDER BY period, org_level, org_code, month
