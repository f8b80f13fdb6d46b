-- Removes the cross-sections a refresh rewrites (stat_target) from the per-cell tables.
DELETE FROM stat_values AS v USING stat_target AS t
WHERE v.window_months = t.window_months AND v.month = t.month;
DELETE FROM stat_groups AS g USING stat_target AS t
WHERE g.window_months = t.window_months AND g.month = t.month;
DELETE FROM stat_deciles AS d USING stat_target AS t
WHERE d.window_months = t.window_months AND d.month = t.month;
