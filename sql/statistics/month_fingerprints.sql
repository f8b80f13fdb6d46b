-- One fingerprint per month of everything the statistics of that month are computed from:
-- the practices' comparator numerators and denominators and the list sizes. A sum of row
-- hashes does not depend on row order, so an unchanged month always gives the same value.
SELECT month, sum(h) AS fingerprint
FROM (
  SELECT month,
    hash(practice_code, comparator_id, variant, denominator_type, numerator, denominator)::HUGEINT AS h
  FROM practice_comparator_months
  UNION ALL
  SELECT month, hash('list size', practice_code, patients)::HUGEINT FROM list_sizes
)
GROUP BY month
ORDER BY month
