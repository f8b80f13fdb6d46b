SELECT * FROM comparator_values ORDER BY comparator_id, variant, denominator_type, period, org_level, org_code, month
