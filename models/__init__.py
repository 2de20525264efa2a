"""SQL models by layer (ods → dwd/dim → dws/ads) with their metadata, and the model loader."""
