-- A fingerprint of the inputs that affect every month at once: which practice belongs to
-- which organisation, and each comparator key's scale, kind and direction. When it changes
-- (or the parameters or this stage's SQL do) the statistics are rebuilt in full.
SELECT
  coalesce((SELECT sum(hash(practice_code, pcn_code, sub_icb_code, icb_code, region_code)::HUGEINT)
            FROM organisations), 0)::VARCHAR
  || ':' ||
  coalesce((SELECT sum(hash(comparator_id, variant, denominator_type, scale, kind, direction)::HUGEINT)
            FROM (SELECT DISTINCT comparator_id, variant, denominator_type, scale, kind, direction
                  FROM comparator_definitions)), 0)::VARCHAR
  AS fingerprint
