-- Integer ids for the comparator keys (comparator, variant, denominator): partitions and
-- joins on one integer are much cheaper than on three strings.
INSERT INTO stat_keys
SELECT row_number() OVER (ORDER BY comparator_id, variant, denominator_type)::INTEGER,
  comparator_id, variant, denominator_type, scale, kind, direction
FROM (
  SELECT DISTINCT comparator_id, variant, denominator_type, scale, kind, direction
  FROM comparator_definitions
)
