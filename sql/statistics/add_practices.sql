-- A refresh that brings a practice code the stored ids do not know yet (it has no entry in
-- organisations, or organisations would have forced a full rebuild) gives it a new id; it
-- rolls up only to England, as in a full rebuild.
INSERT INTO stat_orgs
SELECT (SELECT max(org_id) FROM stat_orgs) + row_number() OVER (ORDER BY practice_code),
  'practice', practice_code, NULL, NULL, NULL, NULL
FROM (
  SELECT DISTINCT practice_code FROM practice_comparator_months
  WHERE practice_code NOT IN (SELECT org_code FROM stat_orgs WHERE org_level = 'practice')
)
