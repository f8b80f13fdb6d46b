DELETE FROM quantity_limits
