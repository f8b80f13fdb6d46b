-- Column documentation inside the extract, so duckdb_columns(), duckdb_tables() and BI tools show
-- what each table, view and column means. docs/data-dictionary.md is generated from these
-- comments (python -m pipelines.export dictionary EXTRACT), so edit them here first.
--
-- Conventions used throughout: a "comparator key" is comparator_id + variant +
-- denominator_type + period; "eligible" practices are those with a value and a list size
-- at or above the minimum (default 1,000), the only ones ranked, put in deciles and used
-- for the national rate and funnel limits. Months are the first day of the dispensing
-- month. Statistics that cannot be computed are null (blank), never zero or infinity.

-- comparators ---------------------------------------------------------------------------
COMMENT ON TABLE comparators IS 'The comparator definitions (from comparators/*.toml). One row per comparator, variant and denominator type: what each comparator_id measures, its units and how to read it.';
COMMENT ON COLUMN comparators.comparator_id IS 'Comparator identifier, e.g. opioid_items or high_dose_share (the definition file name).';
COMMENT ON COLUMN comparators.variant IS 'standard, or the high-dose threshold variant: 90mg (the current Opioids Aware threshold) or 120mg (used by some local schemes).';
COMMENT ON COLUMN comparators.denominator_type IS 'What the numerator is divided by: patients (all registered patients), adults (registered patients aged 18+) or long_acting_items (items of regular long-acting opioids, for the high-dose share).';
COMMENT ON COLUMN comparators.title IS 'Short human-readable name of the comparator.';
COMMENT ON COLUMN comparators.units IS 'Units of the value column, e.g. items per 1,000 registered people per month.';
COMMENT ON COLUMN comparators.direction IS 'lower_is_better, higher_is_better or none (context only); decides whether an SPC signal reads as improvement or concern.';
COMMENT ON COLUMN comparators.kind IS 'rate (per 1,000 people; Poisson funnel limits) or proportion (percent of items; binomial funnel limits).';
COMMENT ON COLUMN comparators.scale IS 'Multiplier from numerator / denominator to value: 1000 for rates per 1,000 people, 100 for percentages.';
COMMENT ON COLUMN comparators.high_dose_threshold_mg IS 'Likely daily dose in mg oral morphine equivalent (OME) at or above which an item counts as high dose; null for comparators without a threshold.';
COMMENT ON COLUMN comparators.plausible_min IS 'Lowest value a practice is expected to have; values outside the plausible range are reported by the data quality checks, not removed.';
COMMENT ON COLUMN comparators.plausible_max IS 'Highest value a practice is expected to have; values outside the plausible range are reported by the data quality checks, not removed.';
COMMENT ON COLUMN comparators.sort_order IS 'Display order of the comparators (1 first).';

-- practices -----------------------------------------------------------------------------
COMMENT ON TABLE practices IS 'One row per GP practice (ODS prescribing setting 4) that prescribed opioids or had registered patients in the published months, with its current PCN, sub-ICB location, ICB and NHS England region.';
COMMENT ON COLUMN practices.practice_code IS 'ODS code of the GP practice, e.g. B81040.';
COMMENT ON COLUMN practices.practice_name IS 'Practice name as held by ODS.';
COMMENT ON COLUMN practices.postcode IS 'Practice postcode (ODS).';
COMMENT ON COLUMN practices.pcn_code IS 'ODS code of the Primary Care Network the practice belongs to; null when not mapped to a PCN.';
COMMENT ON COLUMN practices.pcn_name IS 'Name of the Primary Care Network; null when not mapped to a PCN.';
COMMENT ON COLUMN practices.sub_icb_code IS 'Code of the sub-ICB location (former CCG), e.g. 97A.';
COMMENT ON COLUMN practices.sub_icb_name IS 'Name of the sub-ICB location.';
COMMENT ON COLUMN practices.icb_code IS 'Code of the Integrated Care Board, e.g. QSN.';
COMMENT ON COLUMN practices.icb_name IS 'Name of the Integrated Care Board.';
COMMENT ON COLUMN practices.region_code IS 'Code of the NHS England region.';
COMMENT ON COLUMN practices.region_name IS 'Name of the NHS England region.';
COMMENT ON COLUMN practices.prescribing_setting IS 'ODS prescribing setting; always 4 (GP practice) in this table.';
COMMENT ON COLUMN practices.status_code IS 'ODS status: A active, C closed, D dormant, P proposed.';
COMMENT ON COLUMN practices.open_date IS 'Date the practice opened (ODS); null when not recorded.';
COMMENT ON COLUMN practices.close_date IS 'Date the practice closed (ODS); null while it is open.';
COMMENT ON COLUMN practices.mapping_source IS 'Where the PCN and organisation mapping came from: the NHS England practice map of a month, or the ODS commissioner when the practice is not on the map (closed practices).';
COMMENT ON COLUMN practices.latest_patients IS 'Registered patients (all ages) in the most recent month with a list size; null when the practice never had one.';
COMMENT ON COLUMN practices.latest_adults IS 'Registered patients aged 18 and over in the same month as latest_patients.';
COMMENT ON COLUMN practices.latest_list_size_month IS 'The month latest_patients and latest_adults come from.';

-- practice_comparators ------------------------------------------------------------------
COMMENT ON TABLE practice_comparators IS 'The main table, long format: one row per practice, month, comparator, variant, denominator type and period (1m, 3m, 12m), with the value and every statistic on it.';
COMMENT ON COLUMN practice_comparators.practice_code IS 'ODS code of the GP practice; see the practices table.';
COMMENT ON COLUMN practice_comparators.month IS 'Dispensing month (first day); for 3m and 12m rows, the last month of the window.';
COMMENT ON COLUMN practice_comparators.comparator_id IS 'Comparator identifier; see the comparators table.';
COMMENT ON COLUMN practice_comparators.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN practice_comparators.denominator_type IS 'patients (all ages), adults (18+) or long_acting_items (for the high-dose share).';
COMMENT ON COLUMN practice_comparators.period IS '1m, 3m or 12m: the number of months summed in the numerator and denominator.';
COMMENT ON COLUMN practice_comparators.numerator IS 'Prescription items, or mg OME per day for the OME comparators, summed over the period; 0 when nothing was prescribed.';
COMMENT ON COLUMN practice_comparators.denominator IS 'Registered people (or items, for shares) summed over the period; null when the practice had no list size for a month of it.';
COMMENT ON COLUMN practice_comparators.value IS 'scale x numerator / denominator, in the comparator''s units; null when the denominator is zero or missing or the window is incomplete (months_in_window below 3 or 12). Never a mean of monthly values.';
COMMENT ON COLUMN practice_comparators.scale IS 'Multiplier used for value: 1000 for rates per 1,000 people, 100 for percentages.';
COMMENT ON COLUMN practice_comparators.kind IS 'rate or proportion; decides the funnel limit formula.';
COMMENT ON COLUMN practice_comparators.direction IS 'lower_is_better, higher_is_better or none; decides how an SPC signal is read.';
COMMENT ON COLUMN practice_comparators.list_size IS 'Registered patients (all ages) in this month, used to decide eligibility; null when the practice had no list size that month.';
COMMENT ON COLUMN practice_comparators.months_in_window IS 'How many months of the period had a denominator (1m: 0 or 1; 3m: up to 3; 12m: up to 12).';
COMMENT ON COLUMN practice_comparators.eligible IS 'True when the practice is ranked, put in the deciles and used for the national rate and funnel statistics: value present and list size at or above the minimum (default 1,000).';
COMMENT ON COLUMN practice_comparators.small_practice IS 'True when the list size is below the minimum (default 1,000): the value is published but not ranked or flagged. Null when the list size is unknown.';
COMMENT ON COLUMN practice_comparators.percentile_rank IS 'Percentile rank among eligible practices for the same month and comparator key, 0 to 100 (PERCENT_RANK x 100; 0 = lowest value, ties share the lower rank); null when not eligible.';
COMMENT ON COLUMN practice_comparators.national_rate IS 'England figure over eligible practices: scale x sum of numerators / sum of denominators, in the same units as value; the centre line of the funnel plot.';
COMMENT ON COLUMN practice_comparators.funnel_lower_95 IS 'Lower 95% funnel limit for this practice''s denominator, same units as value (floored at 0); null when the denominator is zero or missing.';
COMMENT ON COLUMN practice_comparators.funnel_upper_95 IS 'Upper 95% funnel limit for this practice''s denominator, same units as value (percentages capped at 100).';
COMMENT ON COLUMN practice_comparators.funnel_lower_998 IS 'Lower 99.8% funnel limit (plain: Poisson for rates, binomial for shares), same units as value; below it the practice is flagged low.';
COMMENT ON COLUMN practice_comparators.funnel_upper_998 IS 'Upper 99.8% funnel limit (plain), same units as value; above it the practice is flagged high.';
COMMENT ON COLUMN practice_comparators.od_lower_95 IS 'Lower 95% funnel limit adjusted for over-dispersion (Spiegelhalter: variance widened by tau2), same units as value.';
COMMENT ON COLUMN practice_comparators.od_upper_95 IS 'Upper 95% funnel limit adjusted for over-dispersion, same units as value.';
COMMENT ON COLUMN practice_comparators.od_lower_998 IS 'Lower 99.8% funnel limit adjusted for over-dispersion, same units as value.';
COMMENT ON COLUMN practice_comparators.od_upper_998 IS 'Upper 99.8% funnel limit adjusted for over-dispersion, same units as value.';
COMMENT ON COLUMN practice_comparators.funnel_flag IS 'high (above the plain upper 99.8% limit), low (below the lower) or within; null when the practice is not eligible.';
COMMENT ON COLUMN practice_comparators.od_funnel_flag IS 'high, low or within against the over-dispersion adjusted 99.8% limits: the flag to act on, since practices vary more than chance alone explains. Null when not eligible.';
COMMENT ON COLUMN practice_comparators.z_score IS 'Plain funnel z-score, (practice rate - national rate) / standard error at the practice''s denominator; null when not eligible.';
COMMENT ON COLUMN practice_comparators.phi IS 'Over-dispersion factor of the month and comparator key: mean of squared z-scores winsorised at 10%/90% (1 = no more spread than chance); same on every row of the group.';
COMMENT ON COLUMN practice_comparators.tau2 IS 'Between-practice variance added to each practice''s variance for the adjusted limits (per person or per item, before scaling); 0 when there is no over-dispersion.';
COMMENT ON COLUMN practice_comparators.value_12m_ago IS 'The value for the same practice and comparator key 12 months earlier; null when not in the extract.';
COMMENT ON COLUMN practice_comparators.change_abs IS 'value - value_12m_ago, in the comparator''s units (percentage points for shares).';
COMMENT ON COLUMN practice_comparators.change_rel IS 'change_abs / value_12m_ago as a fraction (0.25 = 25% higher); null when either value is missing or the earlier value is 0.';
COMMENT ON COLUMN practice_comparators.spc_mean IS 'SPC (XmR) centre line: mean of the practice''s monthly values for this comparator key. Only on 1m rows of series with at least 12 monthly values; null otherwise.';
COMMENT ON COLUMN practice_comparators.spc_ucl IS 'SPC upper process limit: spc_mean + 2.66 x mean moving range. 1m rows only.';
COMMENT ON COLUMN practice_comparators.spc_lcl IS 'SPC lower process limit: spc_mean - 2.66 x mean moving range (may be below 0). 1m rows only.';
COMMENT ON COLUMN practice_comparators.spc_special_cause IS 'True when this month is part of a special-cause pattern (any rule in spc_rules). 1m rows only.';
COMMENT ON COLUMN practice_comparators.spc_rules IS 'Comma-separated special-cause rules this month is part of: outside_limits, run_of_7, trend_of_7, two_of_three_near_limit; empty when none. 1m rows only.';
COMMENT ON COLUMN practice_comparators.spc_signal IS 'improvement, concern (by the comparator''s direction), neither (comparators with no direction) or common_cause. 1m rows only; null when the series has fewer than 12 monthly values.';

-- organisation_comparators --------------------------------------------------------------
COMMENT ON TABLE organisation_comparators IS 'The same comparators for organisations: one row per organisation level and code, month, comparator, variant, denominator type and period. Values are sums of practice numerators over sums of practice denominators.';
COMMENT ON COLUMN organisation_comparators.org_level IS 'pcn, sub_icb, icb, region or england.';
COMMENT ON COLUMN organisation_comparators.org_code IS 'Organisation code (PCN, sub-ICB location, ICB or region code as in the practices table; ENG for England).';
COMMENT ON COLUMN organisation_comparators.month IS 'Dispensing month (first day); for 3m and 12m rows, the last month of the window.';
COMMENT ON COLUMN organisation_comparators.comparator_id IS 'Comparator identifier; see the comparators table.';
COMMENT ON COLUMN organisation_comparators.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN organisation_comparators.denominator_type IS 'patients (all ages), adults (18+) or long_acting_items (for the high-dose share).';
COMMENT ON COLUMN organisation_comparators.period IS '1m, 3m or 12m: the number of months summed.';
COMMENT ON COLUMN organisation_comparators.numerator IS 'Sum of the practices'' numerators over the period (items, or mg OME per day).';
COMMENT ON COLUMN organisation_comparators.denominator IS 'Sum of the practices'' denominators over the period (registered people, or items for shares); practices without a list size are left out of both sums.';
COMMENT ON COLUMN organisation_comparators.months_in_window IS 'How many months of the period had data for the organisation.';
COMMENT ON COLUMN organisation_comparators.value IS 'scale x numerator / denominator, in the comparator''s units; null when the denominator is zero or the window is incomplete.';
COMMENT ON COLUMN organisation_comparators.scale IS 'Multiplier used for value: 1000 for rates per 1,000 people, 100 for percentages.';
COMMENT ON COLUMN organisation_comparators.kind IS 'rate or proportion.';
COMMENT ON COLUMN organisation_comparators.direction IS 'lower_is_better, higher_is_better or none.';
COMMENT ON COLUMN organisation_comparators.list_size IS 'Not used for organisations (always null); see denominator or latest_organisation_wide.registered_patients.';
COMMENT ON COLUMN organisation_comparators.percentile_rank IS 'Percentile rank among organisations of the same level, month and comparator key, 0 to 100; null for regions and England (too few to rank) and when value is null.';
COMMENT ON COLUMN organisation_comparators.n_organisations IS 'How many organisations of this level were ranked in the group; null for regions and England.';
COMMENT ON COLUMN organisation_comparators.value_12m_ago IS 'The organisation''s value for the same comparator key 12 months earlier; null when not in the extract or not ranked (regions, England).';
COMMENT ON COLUMN organisation_comparators.change_abs IS 'value - value_12m_ago, in the comparator''s units; null when either is missing.';
COMMENT ON COLUMN organisation_comparators.change_rel IS 'change_abs / value_12m_ago as a fraction; null when either is missing or the earlier value is 0.';

-- national_deciles ----------------------------------------------------------------------
COMMENT ON TABLE national_deciles IS 'Deciles across eligible practices in England: one row per month, comparator key and percentile (10, 20, ..., 90). The lines practices are charted against.';
COMMENT ON COLUMN national_deciles.month IS 'Dispensing month (first day); for 3m and 12m, the last month of the window.';
COMMENT ON COLUMN national_deciles.comparator_id IS 'Comparator identifier; see the comparators table.';
COMMENT ON COLUMN national_deciles.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN national_deciles.denominator_type IS 'patients, adults or long_acting_items.';
COMMENT ON COLUMN national_deciles.period IS '1m, 3m or 12m.';
COMMENT ON COLUMN national_deciles.percentile IS 'Which decile: 10, 20, ..., 90 (50 is the median).';
COMMENT ON COLUMN national_deciles.value IS 'The percentile of eligible practices'' values, by linear interpolation (as PERCENTILE_CONT), in the comparator''s units.';
COMMENT ON COLUMN national_deciles.n_practices IS 'How many eligible practices the deciles were computed over.';

-- organisation_deciles ------------------------------------------------------------------
COMMENT ON TABLE organisation_deciles IS 'Deciles across organisations of one level (PCN, sub-ICB location, ICB): one row per month, level, comparator key and percentile.';
COMMENT ON COLUMN organisation_deciles.month IS 'Dispensing month (first day); for 3m and 12m, the last month of the window.';
COMMENT ON COLUMN organisation_deciles.org_level IS 'pcn, sub_icb or icb.';
COMMENT ON COLUMN organisation_deciles.comparator_id IS 'Comparator identifier; see the comparators table.';
COMMENT ON COLUMN organisation_deciles.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN organisation_deciles.denominator_type IS 'patients, adults or long_acting_items.';
COMMENT ON COLUMN organisation_deciles.period IS '1m, 3m or 12m.';
COMMENT ON COLUMN organisation_deciles.percentile IS 'Which decile: 10, 20, ..., 90.';
COMMENT ON COLUMN organisation_deciles.value IS 'The percentile of the organisations'' values (linear interpolation), in the comparator''s units.';
COMMENT ON COLUMN organisation_deciles.n_organisations IS 'How many organisations with a value the deciles were computed over.';

-- funnel_curves -------------------------------------------------------------------------
COMMENT ON TABLE funnel_curves IS 'Points for drawing funnel plots: for each month and comparator key, the limits at 60 denominators spaced evenly on a log scale between the smallest and largest eligible practice denominator.';
COMMENT ON COLUMN funnel_curves.month IS 'Dispensing month (first day); for 3m and 12m, the last month of the window.';
COMMENT ON COLUMN funnel_curves.comparator_id IS 'Comparator identifier; see the comparators table.';
COMMENT ON COLUMN funnel_curves.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN funnel_curves.denominator_type IS 'patients, adults or long_acting_items.';
COMMENT ON COLUMN funnel_curves.period IS '1m, 3m or 12m.';
COMMENT ON COLUMN funnel_curves.n IS 'Denominator (x axis of the funnel plot): registered people, or items for shares, summed over the period.';
COMMENT ON COLUMN funnel_curves.funnel_lower_95 IS 'Plain lower 95% limit at denominator n, in the comparator''s units.';
COMMENT ON COLUMN funnel_curves.funnel_upper_95 IS 'Plain upper 95% limit at denominator n.';
COMMENT ON COLUMN funnel_curves.funnel_lower_998 IS 'Plain lower 99.8% limit at denominator n.';
COMMENT ON COLUMN funnel_curves.funnel_upper_998 IS 'Plain upper 99.8% limit at denominator n.';
COMMENT ON COLUMN funnel_curves.od_lower_95 IS 'Over-dispersion adjusted lower 95% limit at denominator n.';
COMMENT ON COLUMN funnel_curves.od_upper_95 IS 'Over-dispersion adjusted upper 95% limit at denominator n.';
COMMENT ON COLUMN funnel_curves.od_lower_998 IS 'Over-dispersion adjusted lower 99.8% limit at denominator n.';
COMMENT ON COLUMN funnel_curves.od_upper_998 IS 'Over-dispersion adjusted upper 99.8% limit at denominator n.';

-- presentation_breakdown ----------------------------------------------------------------
COMMENT ON TABLE presentation_breakdown IS 'The products behind each practice-month: one row per practice, month and BNF presentation prescribed, with items, quantity and OME; largest OME first within a practice-month.';
COMMENT ON COLUMN presentation_breakdown.practice_code IS 'ODS code of the GP practice.';
COMMENT ON COLUMN presentation_breakdown.month IS 'Dispensing month (first day).';
COMMENT ON COLUMN presentation_breakdown.bnf_code IS 'BNF presentation code (15 characters).';
COMMENT ON COLUMN presentation_breakdown.bnf_name IS 'BNF presentation name, e.g. Morphine 10mg modified-release tablets.';
COMMENT ON COLUMN presentation_breakdown.chemical_code IS 'BNF chemical substance code (9 characters), mapped forward through BNF re-codings so series stay continuous.';
COMMENT ON COLUMN presentation_breakdown.substance IS 'Opioid substance, e.g. morphine; null for non-opioid products of BNF section 4.7.';
COMMENT ON COLUMN presentation_breakdown.route IS 'Route of administration: oral, transdermal, buccal, sublingual, nasal, rectal or injection.';
COMMENT ON COLUMN presentation_breakdown.form IS 'Dose form, e.g. tablet, capsule, oral_liquid, patch, injection.';
COMMENT ON COLUMN presentation_breakdown.items IS 'Prescription items dispensed (count).';
COMMENT ON COLUMN presentation_breakdown.total_quantity IS 'Units dispensed in total: tablets, capsules, ml, patches, ampoules, etc.';
COMMENT ON COLUMN presentation_breakdown.max_quantity IS 'Largest quantity on a single item in the source data.';
COMMENT ON COLUMN presentation_breakdown.ome_mg_per_unit IS 'mg oral morphine equivalent per unit of quantity (mg opioid per unit x OME factor); null when the presentation could not be resolved.';
COMMENT ON COLUMN presentation_breakdown.ome_mg IS 'mg oral morphine equivalent dispensed in the month: total_quantity x ome_mg_per_unit; null when unresolved.';
COMMENT ON COLUMN presentation_breakdown.ome_mg_per_day IS 'ome_mg divided by the days in the month: this row''s contribution to the OME comparators'' numerator.';
COMMENT ON COLUMN presentation_breakdown.in_scope IS 'True for the in-scope opioid substances (counted in all_routes_ome_daily).';
COMMENT ON COLUMN presentation_breakdown.non_cancer_scope IS 'True when in scope, resolved and taken by mouth or through the skin: the rows most comparators count.';
COMMENT ON COLUMN presentation_breakdown.strong IS 'True for strong opioids (counted in strong_opioid_items).';
COMMENT ON COLUMN presentation_breakdown.regular_long_acting IS 'True for modified-release oral products and patches: the proxy for regular long-term use.';
COMMENT ON COLUMN presentation_breakdown.patch IS 'True for fentanyl and buprenorphine patches (counted in patch_items).';
COMMENT ON COLUMN presentation_breakdown.likely_daily_ome_mg IS 'Likely daily dose in mg OME of a regular long-acting product at its usual frequency; compared with the high-dose thresholds. Null for other products.';
COMMENT ON COLUMN presentation_breakdown.resolved IS 'False when the OME resolver could not read the presentation (it then carries no OME; see unresolved_presentations).';
COMMENT ON COLUMN presentation_breakdown.implausible_quantity IS 'True when a single item''s quantity exceeds the limit for its form (often packs recorded as units); counted as published, not corrected.';

-- opioid_presentations ------------------------------------------------------------------
COMMENT ON TABLE opioid_presentations IS 'The OME reference: one row per BNF presentation seen in the data (latest month''s resolution), with substance, route, strength, mg per unit, OME factor and OME per unit.';
COMMENT ON COLUMN opioid_presentations.bnf_code IS 'BNF presentation code (15 characters).';
COMMENT ON COLUMN opioid_presentations.bnf_name IS 'BNF presentation name.';
COMMENT ON COLUMN opioid_presentations.chemical_code IS 'BNF chemical substance code as published in the data (9 characters).';
COMMENT ON COLUMN opioid_presentations.canonical_chemical_code IS 'Today''s chemical code after following BNF re-codings (equal to chemical_code when it never changed).';
COMMENT ON COLUMN opioid_presentations.substance IS 'Opioid substance; null for products that are not in-scope opioids.';
COMMENT ON COLUMN opioid_presentations.in_scope IS 'True for the in-scope opioid substances.';
COMMENT ON COLUMN opioid_presentations.strong IS 'True for strong opioids, false for weak; null when not in scope.';
COMMENT ON COLUMN opioid_presentations.route IS 'Route: oral, transdermal, buccal, sublingual, nasal, rectal or injection.';
COMMENT ON COLUMN opioid_presentations.form IS 'Dose form, e.g. tablet, oral_liquid, patch.';
COMMENT ON COLUMN opioid_presentations.strength_value IS 'Opioid strength as written in the name (the non-opioid partner of a combination left out).';
COMMENT ON COLUMN opioid_presentations.strength_unit IS 'Unit of strength_value, e.g. mg, mg/5ml, micrograms/hour.';
COMMENT ON COLUMN opioid_presentations.mg_per_unit IS 'Opioid mg per unit of quantity (per tablet, per ml, per patch over its wear time, per ampoule).';
COMMENT ON COLUMN opioid_presentations.wear_hours IS 'Hours a patch is worn; null for other forms.';
COMMENT ON COLUMN opioid_presentations.ome_factor IS 'Oral morphine equivalence factor for the substance and route (mg oral morphine per mg).';
COMMENT ON COLUMN opioid_presentations.ome_factor_source IS 'Factor set version and the published source of the factor.';
COMMENT ON COLUMN opioid_presentations.ome_mg_per_unit IS 'mg OME per unit of quantity: mg_per_unit x ome_factor.';
COMMENT ON COLUMN opioid_presentations.regular_long_acting IS 'True for modified-release oral products and patches.';
COMMENT ON COLUMN opioid_presentations.doses_per_day IS 'Usual doses per day for regular long-acting products (2 for twice daily, 1 for once daily); null otherwise.';
COMMENT ON COLUMN opioid_presentations.likely_daily_ome_mg IS 'Likely daily dose in mg OME of one regular long-acting product at its usual frequency; null otherwise.';
COMMENT ON COLUMN opioid_presentations.non_cancer_scope IS 'True when in scope and taken by mouth or through the skin.';
COMMENT ON COLUMN opioid_presentations.resolved IS 'False when the resolver could not read the presentation; see note.';
COMMENT ON COLUMN opioid_presentations.note IS 'Why a presentation is unresolved or out of scope, or an assumption made (e.g. a patch wear time).';
COMMENT ON COLUMN opioid_presentations.max_units_per_item IS 'Largest plausible quantity on one item for this form; above it a row is flagged implausible_quantity.';

-- unresolved_presentations --------------------------------------------------------------
COMMENT ON TABLE unresolved_presentations IS 'In-scope presentations the OME resolver could not read: one row per month and presentation. They carry no OME, so they are missing from the OME comparators (empty when all were resolved).';
COMMENT ON COLUMN unresolved_presentations.month IS 'Dispensing month (first day).';
COMMENT ON COLUMN unresolved_presentations.bnf_code IS 'BNF presentation code.';
COMMENT ON COLUMN unresolved_presentations.bnf_name IS 'BNF presentation name.';
COMMENT ON COLUMN unresolved_presentations.chemical_code IS 'BNF chemical substance code.';
COMMENT ON COLUMN unresolved_presentations.substance IS 'Opioid substance, when known.';
COMMENT ON COLUMN unresolved_presentations.note IS 'Why it could not be resolved.';
COMMENT ON COLUMN unresolved_presentations.items IS 'Items of the presentation in the month, all practices.';
COMMENT ON COLUMN unresolved_presentations.practices IS 'How many practices prescribed it in the month.';

-- latest_practice_comparators (view) ----------------------------------------------------
COMMENT ON VIEW latest_practice_comparators IS 'practice_comparators for the latest month only: every comparator, variant, denominator and period. Columns as in practice_comparators.';
COMMENT ON COLUMN latest_practice_comparators.practice_code IS 'ODS code of the GP practice.';
COMMENT ON COLUMN latest_practice_comparators.month IS 'The latest dispensing month in the extract.';
COMMENT ON COLUMN latest_practice_comparators.comparator_id IS 'Comparator identifier; see the comparators table.';
COMMENT ON COLUMN latest_practice_comparators.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN latest_practice_comparators.denominator_type IS 'patients, adults or long_acting_items.';
COMMENT ON COLUMN latest_practice_comparators.period IS '1m, 3m or 12m.';
COMMENT ON COLUMN latest_practice_comparators.numerator IS 'As practice_comparators.numerator.';
COMMENT ON COLUMN latest_practice_comparators.denominator IS 'As practice_comparators.denominator.';
COMMENT ON COLUMN latest_practice_comparators.value IS 'As practice_comparators.value.';
COMMENT ON COLUMN latest_practice_comparators.scale IS 'As practice_comparators.scale.';
COMMENT ON COLUMN latest_practice_comparators.kind IS 'As practice_comparators.kind.';
COMMENT ON COLUMN latest_practice_comparators.direction IS 'As practice_comparators.direction.';
COMMENT ON COLUMN latest_practice_comparators.list_size IS 'As practice_comparators.list_size.';
COMMENT ON COLUMN latest_practice_comparators.months_in_window IS 'As practice_comparators.months_in_window.';
COMMENT ON COLUMN latest_practice_comparators.eligible IS 'As practice_comparators.eligible.';
COMMENT ON COLUMN latest_practice_comparators.small_practice IS 'As practice_comparators.small_practice.';
COMMENT ON COLUMN latest_practice_comparators.percentile_rank IS 'As practice_comparators.percentile_rank.';
COMMENT ON COLUMN latest_practice_comparators.national_rate IS 'As practice_comparators.national_rate.';
COMMENT ON COLUMN latest_practice_comparators.funnel_lower_95 IS 'As practice_comparators.funnel_lower_95.';
COMMENT ON COLUMN latest_practice_comparators.funnel_upper_95 IS 'As practice_comparators.funnel_upper_95.';
COMMENT ON COLUMN latest_practice_comparators.funnel_lower_998 IS 'As practice_comparators.funnel_lower_998.';
COMMENT ON COLUMN latest_practice_comparators.funnel_upper_998 IS 'As practice_comparators.funnel_upper_998.';
COMMENT ON COLUMN latest_practice_comparators.od_lower_95 IS 'As practice_comparators.od_lower_95.';
COMMENT ON COLUMN latest_practice_comparators.od_upper_95 IS 'As practice_comparators.od_upper_95.';
COMMENT ON COLUMN latest_practice_comparators.od_lower_998 IS 'As practice_comparators.od_lower_998.';
COMMENT ON COLUMN latest_practice_comparators.od_upper_998 IS 'As practice_comparators.od_upper_998.';
COMMENT ON COLUMN latest_practice_comparators.funnel_flag IS 'As practice_comparators.funnel_flag.';
COMMENT ON COLUMN latest_practice_comparators.od_funnel_flag IS 'As practice_comparators.od_funnel_flag.';
COMMENT ON COLUMN latest_practice_comparators.z_score IS 'As practice_comparators.z_score.';
COMMENT ON COLUMN latest_practice_comparators.phi IS 'As practice_comparators.phi.';
COMMENT ON COLUMN latest_practice_comparators.tau2 IS 'As practice_comparators.tau2.';
COMMENT ON COLUMN latest_practice_comparators.value_12m_ago IS 'As practice_comparators.value_12m_ago.';
COMMENT ON COLUMN latest_practice_comparators.change_abs IS 'As practice_comparators.change_abs.';
COMMENT ON COLUMN latest_practice_comparators.change_rel IS 'As practice_comparators.change_rel.';
COMMENT ON COLUMN latest_practice_comparators.spc_mean IS 'As practice_comparators.spc_mean.';
COMMENT ON COLUMN latest_practice_comparators.spc_ucl IS 'As practice_comparators.spc_ucl.';
COMMENT ON COLUMN latest_practice_comparators.spc_lcl IS 'As practice_comparators.spc_lcl.';
COMMENT ON COLUMN latest_practice_comparators.spc_special_cause IS 'As practice_comparators.spc_special_cause.';
COMMENT ON COLUMN latest_practice_comparators.spc_rules IS 'As practice_comparators.spc_rules.';
COMMENT ON COLUMN latest_practice_comparators.spc_signal IS 'As practice_comparators.spc_signal.';

-- headline_comparators (view) -----------------------------------------------------------
COMMENT ON VIEW headline_comparators IS 'One row per comparator: the variant and denominator the wide tables show. Per registered patient (all ages) where the comparator has that denominator, and the lowest high-dose threshold (90 mg).';
COMMENT ON COLUMN headline_comparators.comparator_id IS 'Comparator identifier.';
COMMENT ON COLUMN headline_comparators.variant IS 'The headline variant: standard, or 90mg for the high-dose comparators.';
COMMENT ON COLUMN headline_comparators.denominator_type IS 'The headline denominator: patients, or long_acting_items for the high-dose share.';
COMMENT ON COLUMN headline_comparators.title IS 'Short human-readable name of the comparator.';
COMMENT ON COLUMN headline_comparators.units IS 'Units of the headline value.';
COMMENT ON COLUMN headline_comparators.direction IS 'lower_is_better, higher_is_better or none.';
COMMENT ON COLUMN headline_comparators.kind IS 'rate or proportion.';
COMMENT ON COLUMN headline_comparators.scale IS '1000 for rates per 1,000 people, 100 for percentages.';
COMMENT ON COLUMN headline_comparators.high_dose_threshold_mg IS 'The headline high-dose threshold in mg OME per day; null for comparators without one.';
COMMENT ON COLUMN headline_comparators.sort_order IS 'Display order of the comparators.';

-- national_deciles_wide (view) ----------------------------------------------------------
COMMENT ON VIEW national_deciles_wide IS 'national_deciles with the nine deciles side by side: one row per month and comparator key.';
COMMENT ON COLUMN national_deciles_wide.month IS 'Dispensing month (first day); for 3m and 12m, the last month of the window.';
COMMENT ON COLUMN national_deciles_wide.comparator_id IS 'Comparator identifier.';
COMMENT ON COLUMN national_deciles_wide.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN national_deciles_wide.denominator_type IS 'patients, adults or long_acting_items.';
COMMENT ON COLUMN national_deciles_wide.period IS '1m, 3m or 12m.';
COMMENT ON COLUMN national_deciles_wide.n_practices IS 'How many eligible practices the deciles were computed over.';
COMMENT ON COLUMN national_deciles_wide.p10 IS '10th percentile of eligible practices'' values (comparator''s units).';
COMMENT ON COLUMN national_deciles_wide.p20 IS '20th percentile.';
COMMENT ON COLUMN national_deciles_wide.p30 IS '30th percentile.';
COMMENT ON COLUMN national_deciles_wide.p40 IS '40th percentile.';
COMMENT ON COLUMN national_deciles_wide.p50 IS 'Median (50th percentile).';
COMMENT ON COLUMN national_deciles_wide.p60 IS '60th percentile.';
COMMENT ON COLUMN national_deciles_wide.p70 IS '70th percentile.';
COMMENT ON COLUMN national_deciles_wide.p80 IS '80th percentile.';
COMMENT ON COLUMN national_deciles_wide.p90 IS '90th percentile.';

-- practice_vs_national_deciles (view) ---------------------------------------------------
COMMENT ON VIEW practice_vs_national_deciles IS 'Each practice''s series with the national deciles of the same month and comparator key: one row per practice, month and comparator key. The data for a practice-against-deciles chart.';
COMMENT ON COLUMN practice_vs_national_deciles.practice_code IS 'ODS code of the GP practice.';
COMMENT ON COLUMN practice_vs_national_deciles.practice_name IS 'Practice name.';
COMMENT ON COLUMN practice_vs_national_deciles.pcn_code IS 'PCN code of the practice (for filtering).';
COMMENT ON COLUMN practice_vs_national_deciles.sub_icb_code IS 'Sub-ICB location code of the practice.';
COMMENT ON COLUMN practice_vs_national_deciles.icb_code IS 'ICB code of the practice.';
COMMENT ON COLUMN practice_vs_national_deciles.month IS 'Dispensing month (first day); for 3m and 12m, the last month of the window.';
COMMENT ON COLUMN practice_vs_national_deciles.comparator_id IS 'Comparator identifier.';
COMMENT ON COLUMN practice_vs_national_deciles.variant IS 'standard, or the high-dose threshold (90mg, 120mg).';
COMMENT ON COLUMN practice_vs_national_deciles.denominator_type IS 'patients, adults or long_acting_items.';
COMMENT ON COLUMN practice_vs_national_deciles.period IS '1m, 3m or 12m.';
COMMENT ON COLUMN practice_vs_national_deciles.value IS 'The practice''s value (see practice_comparators.value).';
COMMENT ON COLUMN practice_vs_national_deciles.percentile_rank IS 'The practice''s percentile rank, 0 to 100; null when not eligible.';
COMMENT ON COLUMN practice_vs_national_deciles.small_practice IS 'True when below the minimum list size (not ranked).';
COMMENT ON COLUMN practice_vs_national_deciles.national_rate IS 'England figure over eligible practices (sum over sum).';
COMMENT ON COLUMN practice_vs_national_deciles.p10 IS 'National 10th percentile for the same month and key; null when no eligible practice had a value.';
COMMENT ON COLUMN practice_vs_national_deciles.p20 IS 'National 20th percentile.';
COMMENT ON COLUMN practice_vs_national_deciles.p30 IS 'National 30th percentile.';
COMMENT ON COLUMN practice_vs_national_deciles.p40 IS 'National 40th percentile.';
COMMENT ON COLUMN practice_vs_national_deciles.p50 IS 'National median.';
COMMENT ON COLUMN practice_vs_national_deciles.p60 IS 'National 60th percentile.';
COMMENT ON COLUMN practice_vs_national_deciles.p70 IS 'National 70th percentile.';
COMMENT ON COLUMN practice_vs_national_deciles.p80 IS 'National 80th percentile.';
COMMENT ON COLUMN practice_vs_national_deciles.p90 IS 'National 90th percentile.';

-- latest_practice_wide (table) ----------------------------------------------------------
COMMENT ON TABLE latest_practice_wide IS 'One row per practice for the latest month, with five columns per comparator (headline variant and denominator, see headline_comparators): {comparator_id}_1m the month''s value, {comparator_id}_12m the 12-month value, {comparator_id}_rank_12m its percentile rank, {comparator_id}_flag_12m its over-dispersion adjusted 99.8% funnel flag, {comparator_id}_spc the SPC signal of the monthly series. For spreadsheets and dashboards.';
COMMENT ON COLUMN latest_practice_wide.practice_code IS 'ODS code of the GP practice.';
COMMENT ON COLUMN latest_practice_wide.practice_name IS 'Practice name.';
COMMENT ON COLUMN latest_practice_wide.pcn_code IS 'Primary Care Network code; null when not mapped.';
COMMENT ON COLUMN latest_practice_wide.pcn_name IS 'Primary Care Network name.';
COMMENT ON COLUMN latest_practice_wide.sub_icb_code IS 'Sub-ICB location code.';
COMMENT ON COLUMN latest_practice_wide.sub_icb_name IS 'Sub-ICB location name.';
COMMENT ON COLUMN latest_practice_wide.icb_code IS 'Integrated Care Board code.';
COMMENT ON COLUMN latest_practice_wide.icb_name IS 'Integrated Care Board name.';
COMMENT ON COLUMN latest_practice_wide.region_code IS 'NHS England region code.';
COMMENT ON COLUMN latest_practice_wide.region_name IS 'NHS England region name.';
COMMENT ON COLUMN latest_practice_wide.month IS 'The latest dispensing month in the extract (first day).';
COMMENT ON COLUMN latest_practice_wide.list_size IS 'Registered patients (all ages) in the latest month; null when unknown.';
COMMENT ON COLUMN latest_practice_wide.small_practice IS 'True when the list size is below the minimum (default 1,000): ranks and flags are blank.';

-- latest_organisation_wide (table) ------------------------------------------------------
COMMENT ON TABLE latest_organisation_wide IS 'One row per organisation (PCN, sub-ICB location, ICB, region, England) for the latest month, with three columns per comparator (headline variant and denominator, see headline_comparators): {comparator_id}_1m the month''s value, {comparator_id}_12m the 12-month value, {comparator_id}_rank_12m its percentile rank among organisations of the same level.';
COMMENT ON COLUMN latest_organisation_wide.org_level IS 'england, region, icb, sub_icb or pcn.';
COMMENT ON COLUMN latest_organisation_wide.org_code IS 'Organisation code (ENG for England).';
COMMENT ON COLUMN latest_organisation_wide.org_name IS 'Organisation name from the practices table; England for ENG.';
COMMENT ON COLUMN latest_organisation_wide.month IS 'The latest dispensing month in the extract (first day).';
COMMENT ON COLUMN latest_organisation_wide.n_practices IS 'GP practices in the organisation (practices table).';
COMMENT ON COLUMN latest_organisation_wide.registered_patients IS 'Registered patients (all ages) summed over the organisation''s practices with a list size in the latest month.';

-- The wide tables' per-comparator columns are commented when the extract is published,
-- from the comparators in it (pipelines.export.wide_column_comment_texts).
