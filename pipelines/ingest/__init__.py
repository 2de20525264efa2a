"""Landing → ods: finding complete deliveries (delivery), verifying control and data files
(filecheck), the transactional load (load), and opening the database (db)."""
