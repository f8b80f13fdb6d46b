-- The parameters the published views read (see stat_method in statistics/schema.sql).
INSERT INTO stat_method VALUES ($min_list_size, $z95, $z998, $funnel_points)
