-- Records what the stored statistics now reflect ($months: the refreshed months' new
-- fingerprints; months no longer present were deleted by the caller's statement before).
DELETE FROM stat_state;
INSERT INTO stat_state VALUES ($fingerprint);
DELETE FROM stat_months;
INSERT INTO stat_months SELECT month, fingerprint FROM stat_current_months;
