DELETE FROM comparator_definitions;
