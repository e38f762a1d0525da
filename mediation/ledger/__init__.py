"""台账 (ledger) import and export: the Excel workbook of LEDGER.md in and out of the database."""
