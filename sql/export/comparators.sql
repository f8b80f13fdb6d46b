-- The comparator keys with their titles, units and kind, in display order.
SELECT comparator_id, variant, denominator_type, title, units, direction, kind, scale,
  high_dose_threshold_mg, sort_order
FROM comparators
ORDER BY sort_order, comparator_id, variant, denominator_type
