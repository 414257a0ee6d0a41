"""Reading back: SQL queries, trace assembly, the doctor."""
