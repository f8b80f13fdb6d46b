-- Every comparator key the dashboard offers (comparator, variant, denominator, period),
-- with what the page says about it. "key" names the key in the page data and file names.
SELECT concat_ws('.', c.comparator_id, c.variant, c.denominator_type, k.period) AS key,
  c.comparator_id, c.variant, c.denominator_type, k.period, c.title, c.units, c.direction,
  c.kind, c.high_dose_threshold_mg, c.sort_order
FROM comparators AS c
JOIN (SELECT DISTINCT comparator_id, variant, denominator_type, period FROM national_deciles) AS k
  USING (comparator_id, variant, denominator_type)
ORDER BY c.sort_order, c.comparator_id, c.variant, c.denominator_type,
  CAST(rtrim(k.period, 'm') AS INTEGER)
