-- Column documentation inside the extract, so DESCRIBE and BI tools show what each means.
COMMENT ON TABLE comparators IS 'One row per comparator, variant and denominator, generated from comparators/*.toml.';
COMMENT ON TABLE practices IS 'GP practices (prescribing setting 4) with their current PCN, sub-ICB location, ICB and region.';
COMMENT ON TABLE practice_comparators IS 'Long format: one row per practice, month, comparator, variant, denominator and period (1m, 3m, 12m), with statistics.';
COMMENT ON COLUMN practice_comparators.practice_code IS 'ODS code of the GP practice.';
COMMENT ON COLUMN practice_comparators.month IS 'Dispensing month (first day); for 3m and 12m, the last month of the window.';
COMMENT ON COLUMN practice_comparators.comparator_id IS 'Comparator identifier; see the comparators table.';
COMMENT ON COLUMN practice_comparators.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN practice_comparators.denominator_type IS 'patients (all ages), adults (18+) or long_acting_items.';
COMMENT ON COLUMN practice_comparators.period IS '1m, 3m or 12m: months summed in the numerator and denominator.';
COMMENT ON COLUMN practice_comparators.numerator IS 'Items or mg OME per day, summed over the period.';
COMMENT ON COLUMN practice_comparators.denominator IS 'Registered people (or items for shares), summed over the period.';
COMMENT ON COLUMN practice_comparators.value IS 'scale x numerator / denominator; null when the denominator is zero or missing or the window incomplete.';
COMMENT ON TABLE organisation_comparators IS 'The same comparators summed to PCN, sub-ICB location, ICB, region and England.';
COMMENT ON TABLE national_deciles IS 'Deciles across eligible practices (list size at or above the minimum), per month, comparator and period.';
COMMENT ON TABLE presentation_breakdown IS 'The products behind each practice-month: items, quantity and OME per presentation, largest OME first.';
COMMENT ON TABLE opioid_presentations IS 'The OME reference for every presentation seen: substance, route, strength, mg per unit, factor, OME per unit.';
COMMENT ON TABLE unresolved_presentations IS 'In-scope presentations the resolver could not read, by month; they carry no OME.';
