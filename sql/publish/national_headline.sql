-- England's value of each headline comparator in the latest month, in display order.
SELECT h.title, o.value, h.units
FROM organisation_comparators AS o
JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type)
WHERE o.org_level = 'england' AND o.period = '1m'
  AND o.month = (SELECT max(month) FROM organisation_comparators)
ORDER BY h.sort_order, h.comparator_id
