"""统一数据服务 The analysts' data service: the query guard, access and audit, the serving
connection to the published snapshot, the HTTP API and the pages."""
