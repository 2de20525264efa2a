"""The return-table register (回流表清单), the province's reference data and the catalog."""
