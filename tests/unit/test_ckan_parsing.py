"""Parsing the portal's inconsistent resource metadata and records."""

from datetime import date

from pipelines.sources.ckan import _parse_schema_fields, _records_frame, resource_name_for_month


def test_schema_is_read_from_json_or_python_repr():
    as_json = '{"fields": [{"name": "YEAR_MONTH", "type": "integer"}, {"name": "ITEMS"}]}'
    as_repr = "{'fields': [{'name': 'YEAR_MONTH', 'type': 'integer'}, {'name': 'ITEMS'}]}"
    as_obj = {"fields": [{"name": "YEAR_MONTH"}, {"name": "ITEMS"}]}
    for schema in (as_json, as_repr, as_obj):
        assert _parse_schema_fields(schema) == ("YEAR_MONTH", "ITEMS")
    assert _parse_schema_fields("not a schema") is None
    assert _parse_schema_fields(None) is None


def test_records_become_text_in_field_order():
    records = [{"ITEMS": 2, "SNOMED_CODE": "12345678901234", "YEAR_MONTH": 202401, "NIC": 1.0}]
    fields = [{"id": "YEAR_MONTH"}, {"id": "ITEMS"}, {"id": "SNOMED_CODE"}, {"id": "NIC"}]
    frame = _records_frame(records, fields)
    assert frame.columns == ["YEAR_MONTH", "ITEMS", "SNOMED_CODE", "NIC"]
    assert frame.row(0) == ("202401", "2", "12345678901234", "1")


def test_resource_names_follow_the_dataset_of_the_month():
    assert resource_name_for_month(date(2024, 1, 1)) == "EPD_SNOMED_202401"
    assert resource_name_for_month(date(2019, 5, 1)) == "EPD_201905"
